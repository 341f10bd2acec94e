"""The 16-bit anchors with their spread between prompt sets: the served anchor is the median over
the sets, a run's drop is against the 16-bit run on its own prompts, and every interval leaning
on the anchor is widened by a new prompt set's spread (Student-t over the sets measured)."""

import numpy as np
import pytest
from scipy.stats import t as student

from models.accuracy import MetricModel, Target, design, predict
from models.accuracy.prediction import widened
from models.accuracy.problem import anchor_spread
from models.artifact import MetricFit
from models.space import Config, KVScheme, Weights

TABLE = {f"{side}{bits}-{gran}": err * g_scale * s_scale
         for side, s_scale in (("k", 1.0), ("v", 0.8)) for bits, err in ((4, 0.08), (2, 0.4))
         for gran, g_scale in (("tensor", 1.0), ("token", 0.7))}
SCHEMES = [KVScheme(k, v, g) for k in (16, 4, 2) for v in (16, 4, 2) for g in ("tensor", "token")
           if (k, v) != (16, 16)]


def runs(rng, second_set: float | None):
    """Answer NLL on prompt seed 0 (16-bit 0.01 at both lengths) plus, optionally, the 16-bit
    model alone on seed 1 at `second_set`."""
    configs, tokens, seeds, values = [], [], [], []
    for L in (256, 512):
        configs.append(Config())
        tokens.append(L)
        seeds.append(0)
        values.append(0.01)
        for kv in SCHEMES:
            for w in (Weights(16), Weights(4, 128)):
                c = Config(w, kv, 256)
                d = design([c], TABLE)
                excess = 2.0 * d.k_error[0] ** 2 + 1.0 * d.v_error[0] ** 2 + 0.002 * d.w4[0]
                configs.append(c)
                tokens.append(L)
                seeds.append(0)
                values.append(0.01 + excess * np.exp(rng.normal(0, 0.1)))
        if second_set is not None:
            configs.append(Config())
            tokens.append(L)
            seeds.append(1)
            values.append(second_set)
    return configs, tokens, values, seeds


def fit(second_set: float | None) -> MetricFit:
    configs, tokens, values, seeds = runs(np.random.default_rng(0), second_set)
    model = MetricModel(Target("t", "answer_nll", "loss"), loss_floor=1e-3)
    return model.fit(configs, tokens, values, TABLE, seeds=seeds).to_fit()


def test_the_spread_is_a_student_t_prediction_half_width_over_the_sets():
    got = anchor_spread({512: [0.1, 0.3], 1024: [0.2]}, 0.9)
    assert set(got) == {512}  # one set measures no spread
    assert got[512] == pytest.approx(student.ppf(0.95, 1) * np.std([0.1, 0.3], ddof=1)
                                     * np.sqrt(1.5))
    assert anchor_spread({512: [0.1, 0.1, 0.1]}, 0.9)[512] == pytest.approx(0.0, abs=1e-12)


def test_a_second_prompt_set_moves_the_anchor_to_the_mean_and_widens_every_interval():
    one, two = fit(None), fit(0.05)
    assert one.baseline_spread is None
    assert two.baseline[512] == pytest.approx(0.03)  # median of 0.01 and 0.05
    assert two.baseline_spread is not None
    assert two.baseline_spread[512] > 0.1
    rows = design([Config(), Config(Weights(16), KVScheme(2, 2, "token"), 256)], TABLE)
    p1, p2 = predict(one, rows, 512), predict(two, rows, 512)
    assert (p2.upper - p2.lower > p1.upper - p1.lower + 0.1).all()
    # the quantized runs' excess is against the 16-bit run on their own prompts (seed 0): the
    # second set shifts the level, not what quantization adds
    assert (p2.mean - two.baseline[512]) == pytest.approx(p1.mean - one.baseline[512], abs=0.01)
    # the measured second set lies inside the 16-bit row's interval, the first one too
    assert p2.lower[0] <= 0.01
    assert 0.05 <= p2.upper[0]


def test_quadrature_adds_the_anchor_spread_and_keeps_values_valid():
    mean, lower, upper = np.array([0.5, 0.99]), np.array([0.47, 0.95]), np.array([0.54, 1.0])
    lo, hi = widened(mean, lower, upper, np.array([0.04, 0.04]), bounded=True)
    assert lo[0] == pytest.approx(0.5 - 0.05)
    assert hi[0] == pytest.approx(0.5 + np.hypot(0.04, 0.04))
    assert hi[1] == 1.0  # an accuracy stays ≤ 1
    lo, _ = widened(np.array([0.01]), np.array([0.0]), np.array([0.1]), np.array([0.5]), False)
    assert lo[0] == 0.0  # a loss stays ≥ 0


def test_records_without_a_spread_still_load_and_predict_as_before():
    two = fit(0.05)
    raw = two.model_dump()
    del raw["baseline_spread"], raw["logit_scale"]  # an artifact written before the fields
    old = MetricFit.model_validate(raw)
    assert old.baseline_spread is None
    rows = design([Config(), Config(Weights(16), KVScheme(4, 4, "tensor"), 256)], TABLE)
    p_old, p_new = predict(old, rows, 512), predict(two, rows, 512)
    assert p_old.mean == pytest.approx(p_new.mean)
    assert (p_old.upper - p_old.lower < p_new.upper - p_new.lower).all()


def test_the_anchor_is_the_median_of_the_sets_and_other_sets_are_not_regression_rows():
    from models.accuracy.problem import Runs, problem

    configs, tokens, values, seeds = runs(np.random.default_rng(1), None)
    for s, v in ((1, 0.02), (2, 0.5)):  # one prompt set with a few failed answers
        configs += [Config(), Config()]
        tokens += [256, 512]
        values += [v, v]
        seeds += [s, s]
    p = problem(Runs.of(configs, tokens, values, TABLE, seeds=seeds), 5, 0, "t")
    assert p.baseline[512] == pytest.approx(0.02)  # median of 0.01, 0.02, 0.5 (mean: 0.18)
    assert len(p.values) == len(values) - 4  # seeds 1 and 2 ran no quantized configuration
    assert p.base[0] == pytest.approx(0.01)  # seed 0's rows are paired with seed 0's anchor


def test_an_accuracys_spread_is_never_below_a_new_prompt_sets_binomial_noise():
    """Three sets of 32 prompts that happen to agree (SmolLM2 kv_uuid at 4,096 tokens: 0.44,
    0.47, 0.41) or two that tie do not say a fourth set lands closer than chance allows."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.95)
    agree = [14 / 32, 15 / 32, 13 / 32]
    got = anchor_spread({4096: agree, 2048: [0.94, 0.94], 1024: [0.5]}, 0.9, samples=32)
    t_only = anchor_spread({4096: agree}, 0.9)[4096]
    noise = z * np.sqrt(14 / 32 * 18 / 32 / 32) * np.sqrt(1 + 1 / 3)
    assert t_only < noise
    assert got[4096] == pytest.approx(noise)
    assert got[2048] == pytest.approx(z * np.sqrt(0.94 * 0.06 / 32) * np.sqrt(1.5))
    assert got[1024] == pytest.approx(z * 0.5 / np.sqrt(32) * np.sqrt(2))  # one set: chance only
    wide = [0.1, 0.9]  # sets far apart: the Student-t spread, larger, stands
    assert anchor_spread({512: wide}, 0.9, samples=32)[512] == anchor_spread({512: wide}, 0.9)[512]

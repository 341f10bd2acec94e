"""The accuracy estimator: monotone in bits, calibrated intervals, extrapolation flagged, JSON-safe.

Data here is drawn from a known response (KL grows with the squared K/V error) so the fit can
be checked against the truth; the real fit runs on measured runs in calibration.
"""

import numpy as np
import pytest
from scipy.stats import spearmanr

from models.accuracy import MetricModel, Target, design, error_scale, predict
from models.space import Config, KVScheme, Weights, kv_schemes

GRAN_FACTOR = {"tensor": 3.0, "token": 1.0, "block32": 0.6, "block64": 0.7, "block128": 0.8,
               "channel": 0.9}


def error_table():
    table = {}
    for kv in kv_schemes():
        for side in ("k", "v"):
            key = kv.side_key(side)
            if key:
                bits = int(key[1])
                gran = key.split("-")[1]
                smooth = 0.5 if key.endswith("-ks") else 1.0
                table[key] = 0.6 * 2.0**-bits * GRAN_FACTOR.get(gran, 1.0) * smooth * 4
    return table


def truth(configs, contexts, table, rng, noise=0.1):
    d = design(configs, table)
    from models.memory import quantized_tokens

    frac = quantized_tokens(np.asarray(contexts), d.grid) / np.asarray(contexts)
    kl = 3.0 * (d.k_error**2) * frac + 1.0 * (d.v_error**2) * frac + 0.002 * d.w4
    kl = kl * np.exp(rng.normal(0, noise, len(kl))) + 1e-6
    em = np.clip(0.98 - 0.9 * (1 - np.exp(-kl / 0.02)) + rng.normal(0, 0.02, len(kl)), 0, 1)
    return kl, em


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    table = error_table()
    schemes = list(kv_schemes())
    configs, contexts = [Config(), Config()], [256, 512]
    for kv in schemes:
        for w in (Weights(16), Weights(4, 128)):
            configs.append(Config(w, kv, 256))
            contexts.append(int(rng.choice([256, 512])))
    kl, em = truth(configs, contexts, table, rng)
    return table, configs, np.array(contexts), kl, em, rng


def fit_record(kind, configs, contexts, values, table, guide=None, samples=None, **params):
    """The artifact record of a MetricModel fitted on these runs."""
    model = MetricModel(Target("t", "m", kind, samples=samples), **params)
    return model.fit(configs, contexts, values, table, guide=guide).to_fit()


def split(n, rng):
    """Both baseline runs (rows 0, 1) train; the rest is halved at random."""
    idx = 2 + rng.permutation(n - 2)
    return np.r_[0, 1, idx[: len(idx) // 2]], idx[len(idx) // 2:]


def test_graded_metric_ranks_held_out_configs(data):
    table, configs, ctx, kl, _, rng = data
    train, test = split(len(configs), rng)
    fit = fit_record("loss", [configs[i] for i in train], ctx[train], kl[train], table)
    pred = predict(fit, design([configs[i] for i in test], table), 512)
    rho = spearmanr(pred.mean, kl[test] * np.where(ctx[test] == 512, 1, 1)).statistic
    assert rho > 0.9


def test_loss_intervals_are_calibrated_in_each_regime_of_the_loss(data):
    """Log-space noise 0.05 dex where the KL is small, 0.4 where it is between 0.1 and 1: one
    width for all would be too narrow there; bins of the predicted loss are not."""
    table, configs, ctx, _, _, _ = data
    clean, _ = truth(configs, ctx, table, np.random.default_rng(0), noise=0.0)
    inside, noisy = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        sd = np.where((clean > 0.1) & (clean <= 1.0), 0.4, 0.05)
        kl = clean * np.power(10.0, rng.normal(0, sd)) + 1e-6
        train, test = split(len(configs), rng)
        fit = fit_record("loss", [configs[i] for i in train], ctx[train], kl[train],
                         table, loss_floor=1e-3)
        pred = predict(fit, design([configs[i] for i in test], table), ctx[test])
        inside += list((kl[test] >= pred.lower) & (kl[test] <= pred.upper))
        noisy += list(sd[test] > 0.1)
    inside, noisy = np.array(inside), np.array(noisy)
    assert noisy.sum() > 40
    assert inside[noisy].mean() >= 0.8
    assert 0.85 <= inside.mean() <= 0.97


def test_accuracy_intervals_cover_about_ninety_percent(data):
    table, configs, ctx, _, em, rng = data
    train, test = split(len(configs), rng)
    fit = fit_record("accuracy", [configs[i] for i in train], ctx[train], em[train],
                     table)
    inside = []
    for t in (256, 512):
        rows = [i for i in test if ctx[i] == t]
        pred = predict(fit, design([configs[i] for i in rows], table), t)
        inside += list((em[rows] >= pred.lower) & (em[rows] <= pred.upper))
    assert 0.8 <= np.mean(inside) <= 0.98
    trivial = np.mean(np.abs(em[test] - 0.98))
    pred = predict(fit, design([configs[i] for i in test], table), 512)
    assert np.mean(np.abs(pred.mean - em[test])) < 0.5 * trivial
    # its cross-validated error is in accuracy units, near what the held-out half shows
    assert fit.cv_mae is not None
    assert fit.cv_mae < 0.5 * trivial


def test_fewer_bits_never_predicted_better(data):
    table, configs, ctx, _, em, _ = data
    fit = fit_record("accuracy", configs, ctx, em, table)
    for gran in ("token", "tensor"):
        ladder = [Config(kv=KVScheme(b, b, gran, None, False, 0), chunk=256) for b in (8, 4, 2)]
        acc = predict(fit, design(ladder, table), 512).mean
        assert acc[0] >= acc[1] >= acc[2]


def test_extrapolation_is_flagged_and_wider(data):
    table, configs, ctx, kl, _, _ = data
    fit = fit_record("loss", configs, ctx, kl, table)
    d = design(configs[:10], table)
    inside, outside = predict(fit, d, 512), predict(fit, d, 4096)
    assert not inside.extrapolated
    assert outside.extrapolated
    width = lambda p: np.log10(p.upper + 1e-5) - np.log10(p.lower + 1e-5)  # noqa: E731
    assert (width(outside) > width(inside)).all()


def test_needs_a_baseline(data):
    table, configs, ctx, kl, _, _ = data
    rows = [i for i, c in enumerate(configs) if not c.kv.is_baseline]
    with pytest.raises(ValueError, match="baseline"):
        fit_record("loss", [configs[i] for i in rows], ctx[rows], kl[rows], table)


def test_missing_error_is_named():
    with pytest.raises(ValueError, match="k4-token"):
        design([Config(kv=KVScheme(4, 4, "token"))], {"v4-token": 0.1})


def test_two_stage_exact_match_is_flat_where_nothing_degrades(data):
    table, configs, ctx, kl, em, _ = data
    fit = fit_record("accuracy", configs, ctx, em, table, guide=kl, loss_floor=0.05)
    assert fit.guide == "kl"
    assert fit.link_x
    assert fit.interval_bins
    ladder = [Config(chunk=256)]
    ladder += [Config(kv=KVScheme(b, b, "token", None, False, 0), chunk=256) for b in (8, 4, 2)]
    pred = predict(fit, design(ladder, table), 512)
    assert (np.diff(pred.mean) <= 1e-12).all()  # fewer bits never predicted better
    width = pred.upper - pred.lower
    assert width[1] < width[-1]  # tight where lossless, wide where it degrades


def test_16bit_anchors_set_the_baseline_beyond_the_calibrated_range(data):
    table, configs, ctx, kl, em, _ = data
    # the 16-bit model itself answers 70% at 1024 tokens: one anchor run says so
    cfg, tok = [*configs, Config()], np.r_[ctx, 1024]
    fit = fit_record("accuracy", cfg, tok, np.r_[em, 0.7], table,
                     guide=np.r_[kl, 0.0], loss_floor=0.05, samples=64)
    assert fit.contexts == [256, 512]
    assert fit.baseline[1024] == pytest.approx(0.7)
    pred = predict(fit, design([Config(), configs[-1]], table), 1024)
    assert pred.extrapolated
    assert pred.mean[0] == pytest.approx(0.7)
    assert pred.mean[1] <= pred.mean[0]


def test_intervals_scale_with_the_spread_of_a_measurement_on_n_prompts(data):
    table, configs, ctx, kl, em, _ = data
    sure = fit_record("accuracy", configs, ctx, em, table, guide=kl,
                      loss_floor=0.05, samples=64)
    unsure = sure.model_copy(update={"baseline": {256: 0.75, 512: 0.75}})
    d = design([Config(kv=KVScheme(8, 8, "token", None, False, 0), chunk=256)], table)
    a, b = predict(sure, d, 512), predict(unsure, d, 512)
    # intervals on the log-odds loss: the same half-width in logits is more accuracy where the
    # model is less sure (d accuracy / d logit = p(1 − p): 0.19 at 0.75 against 0.02 at 0.98)
    assert sure.logit_scale is not None
    assert (b.upper - b.lower)[0] > 1.5 * (a.upper - a.lower)[0]
    assert error_scale(np.array([1.0]), 64)[0] == pytest.approx(0.5 / 64)  # half a prompt


def test_exact_match_intervals_cover_fresh_measurements_of_pure_sampling_noise(data):
    """Exact match measured on 64 prompts (binomial) from a known response to the guide: 90%
    intervals cover fresh measurements of held-out configurations at least 85% of the time.
    They over-cover here (98.3%): the log-odds intervals are as wide as the predicted loss plus
    half a logit, and monotone in the predicted drop, for real damage that the guide misses
    (test_conditional); with sampling noise alone, the ceiling's one-prompt steps (1.1 logits)
    set the width of the bins above it (the normalized intervals they replaced covered 91.6%)."""
    table, configs, ctx, kl, _, _ = data
    p_true = 0.98 - 0.9 * (1 - np.exp(-kl / 0.02))
    inside = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        em = rng.binomial(64, p_true) / 64
        train, test = split(len(configs), rng)
        fit = fit_record("accuracy", [configs[i] for i in train], ctx[train],
                         em[train], table, guide=kl[train], loss_floor=0.05, samples=64)
        again = rng.binomial(64, p_true[test]) / 64  # another prompt set
        pred = predict(fit, design([configs[i] for i in test], table), ctx[test])
        inside += list((again >= pred.lower - 1e-12) & (again <= pred.upper + 1e-12))
    assert 0.85 <= np.mean(inside) <= 0.99


def test_the_same_damage_costs_more_answers_where_the_model_is_less_sure(data):
    """Log-odds link: one predicted loss, a bigger drop from a 0.8 baseline than from 0.98."""
    table, configs, ctx, kl, em, _ = data
    fit = fit_record("accuracy", configs, ctx, em, table, guide=kl,
                     loss_floor=0.05, samples=64)
    d = design([Config(kv=KVScheme(s, s, "token", None, False, 0), chunk=256)
                for s in (8, 4)], table)
    i = int(np.argmax((predict(fit, d, 512).mean < 0.97) & (predict(fit, d, 512).mean > 0.2)))
    high = 0.98 - predict(fit, d, 512).mean[i]
    low_fit = fit.model_copy(update={"baseline": {256: 0.8, 512: 0.8}})
    low = 0.8 - predict(low_fit, d, 512).mean[i]
    assert high > 0.01
    assert low > high


def test_extrapolation_widening_is_measured_on_the_longest_context(data):
    from models.accuracy import WIDENINGS

    table, configs, ctx, kl, _, _ = data
    fit = fit_record("loss", configs, ctx, kl, table)
    assert fit.widening in WIDENINGS  # one doubling from 256 to 512
    one = fit_record("loss", [c for c, t in zip(configs, ctx, strict=True) if t == 512],
                     ctx[ctx == 512], kl[ctx == 512], table)
    assert one.widening == 0.5  # nothing to measure it on: the default


def test_key_and_value_damage_add_so_one_sided_schemes_are_predicted(data):
    """Trained on schemes that all quantize both sides, the "log_sum" form predicts schemes that
    leave one side 16-bit from the two sides' separate parts; a single log-linear sum makes
    them multiply and misses (the testbed's k2v16-tensor: KL 5.6 measured, 2.4 log-linear)."""
    table, configs, ctx, kl, _, _ = data
    assert not [c for c in configs if (c.kv.k_bits == 16) != (c.kv.v_bits == 16)]
    test = [Config(kv=kv, chunk=256) for kv in kv_schemes(((16, 4), (4, 16), (16, 2), (2, 16)))]
    truth_kl, _ = truth(test, [512] * len(test), table, np.random.default_rng(1), noise=0.0)
    err = {}
    for form in ("log_sum", "linear"):
        fit = fit_record("loss", configs, ctx, kl, table, form=form)
        assert fit.form == form
        pred = predict(fit, design(test, table), 512)
        err[form] = np.median(np.abs(np.log(pred.mean / truth_kl)))
    assert err["log_sum"] < 0.25 < err["linear"], err


def test_log_sum_keeps_the_16bit_model_lossless_and_needs_a_known_form(data):
    table, configs, ctx, kl, _, _ = data
    fit = fit_record("loss", configs, ctx, kl, table, form="log_sum")
    assert len(fit.coef) == len(fit.feature_names) + 1  # plus the V part's intercept
    pred = predict(fit, design([Config(), Config(kv=KVScheme(16, 2, "token", None, False, 0))],
                               table), 512)
    assert pred.mean[0] == pytest.approx(fit.baseline[512])
    assert pred.mean[1] > 1e-3
    with pytest.raises(ValueError, match="linear, log_sum"):
        fit_record("loss", configs, ctx, kl, table, form="cubic")


def test_several_loss_floors_keep_the_one_with_least_cross_validated_error(data):
    table, configs, ctx, kl, _, _ = data
    floors = (1e-6, 1e-3, 0.3)
    alone = [fit_record("loss", configs, ctx, kl, table, loss_floor=f) for f in floors]
    chosen = fit_record("loss", configs, ctx, kl, table, loss_floor=floors)
    assert chosen.floor == floors[int(np.argmin([f.cv_mae for f in alone]))]
    assert len({round(f.cv_mae, 9) for f in alone}) == 3  # the choice is a real one
    with pytest.raises(ValueError, match="no loss_floor"):
        fit_record("loss", configs, ctx, kl, table, loss_floor=())


def test_a_loss_measured_a_little_below_the_16bit_one_is_inside_the_interval(data):
    """The 16-bit anchor is one n-prompt measurement: a run may measure below it by up to about
    the floor (AWQ weights did, on the testbed's answer NLL), and intervals reach down there
    without growing absurdly wide."""
    table, configs, ctx, kl, _, _ = data
    nll = 0.05 + kl * 0.5
    nll[[i for i, c in enumerate(configs) if c.weights.bits == 4]] -= 0.004
    fit = fit_record("loss", configs, ctx, nll, table, loss_floor=0.01)
    w4 = [i for i, c in enumerate(configs) if c.weights.bits == 4]
    pred = predict(fit, design([configs[i] for i in w4], table), ctx[w4])
    assert np.mean((pred.lower <= nll[w4]) & (nll[w4] <= pred.upper)) >= 0.75
    # without a noise floor those runs sit 3+ decades below the fit in log space, and every
    # interval must stretch that far to cover them
    without = fit_record("loss", configs, ctx, nll, table, loss_floor=1e-9)
    wide = predict(without, design([configs[i] for i in w4], table), ctx[w4])
    assert np.median(wide.upper - wide.lower) > 10 * np.median(pred.upper - pred.lower)


def test_the_weights_own_kl_is_added_to_4bit_rows_only(data):
    """Runs' KL is against their own weights: the measured KL of the 4-bit weights alone is
    added to 4-bit rows (interpolated in log2 of the context), 16-bit rows keep theirs."""
    table, configs, ctx, kl, _, _ = data
    fit = fit_record("loss", configs, ctx, kl, table, loss_floor=0.01, widen=False)
    with_awq = fit.model_copy(update={"weights_kl": {256: 0.1, 1024: 0.3}})
    kv = KVScheme(4, 4, "token", None, False, 0)
    rows = [Config(Weights(16), kv, 256), Config(Weights(4, 128), kv, 256),
            Config(Weights(4, 128), KVScheme(), None)]
    d = design(rows, table)
    base, awq = predict(fit, d, 512), predict(with_awq, d, 512)
    assert awq.mean[0] == pytest.approx(base.mean[0])
    assert awq.mean[1] - base.mean[1] == pytest.approx(0.2)  # halfway from 256 to 1024
    assert awq.lower[1] - base.lower[1] == pytest.approx(0.2)
    assert awq.mean[2] - base.mean[2] == pytest.approx(0.2)  # 4-bit weights, 16-bit cache


def test_a_longer_context_is_never_predicted_to_undo_damage(data):
    """Runs whose loss falls with the context (the ceiling of catastrophic configurations, or
    noise) fit a negative slope when it is free, which extrapolation then carries on; the
    shipped bound holds it at ≥ 0, so predictions beyond the calibrated range never improve."""
    table, configs, ctx, kl, _, _ = data
    falling = np.where(ctx == 512, kl * 0.5, kl)  # half the loss at twice the length
    quantized = [c for c in configs if c.kv.k_bits < 16 or c.kv.v_bits < 16]
    d = design(quantized, table)
    slope = {}
    for bound in (None, 0.0):
        f = fit_record("loss", configs, ctx, falling, table, context_slope_min=bound)
        slope[bound] = f.coef[f.feature_names.index("log2_context")]
        grows = predict(f, d, 2048).mean / predict(f, d, 512).mean
        if bound is None:
            assert slope[bound] < -0.05
            assert np.median(grows) < 0.9
        else:
            assert slope[bound] >= 0.0
            assert (grows >= 1 - 1e-9).all()


def test_rows_past_the_longest_16bit_anchor_are_marked_unanchored(data):
    table, configs, ctx, kl, _, _ = data
    f = fit_record("loss", configs, ctx, kl, table)
    d = design(configs[:3], table)
    assert not predict(f, d, 512).unanchored_rows.any()
    past = predict(f, d, np.array([256, 512, 1024]))
    assert past.anchored_until == 512
    assert past.unanchored_rows.tolist() == [False, False, True]


@pytest.mark.parametrize("samples", [None, 64])
def test_no_quantized_row_is_predicted_above_the_16bit_model(data, samples):
    """Near-lossless runs that measured a little above the 16-bit run (prompt noise) must not
    make a quantized cache look better than the 16-bit one: a drop is never negative."""
    table, configs, ctx, kl, em, _ = data
    lifted = np.where(kl < 0.01, np.minimum(em + 0.03, 1.0), em)  # quantized rows only
    lifted[:2] = em[:2]
    fit = fit_record("accuracy", configs, ctx, lifted, table, guide=kl, samples=samples)
    d = design(configs, table)
    pred = predict(fit, d, 512)
    base = predict(fit, design([Config()], table), 512).mean[0]
    assert (pred.mean[~d.lossless] <= base + 1e-12).all()

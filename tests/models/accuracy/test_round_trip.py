"""The estimator's contract: hyperparameters stay as given, fit returns the fitted estimator,
and the learned state round-trips through the artifact's MetricFit (and its JSON)."""

import numpy as np
import pytest

from models.accuracy import MetricModel, Target, design, predict
from models.artifact import MetricFit
from models.space import Config, KVScheme, Weights

TABLE = {"k4-token": 0.05, "v4-token": 0.05, "k2-token": 0.3, "v2-token": 0.3,
         "k8-token": 0.01, "v8-token": 0.01}


def runs():
    rng = np.random.default_rng(3)
    configs, tokens, kl, em = [], [], [], []
    for w in (Weights(16), Weights(4, 128)):
        for bits in (16, 8, 4, 2):
            kv = KVScheme() if bits == 16 else KVScheme(bits, bits, "token")
            for t in (256, 512, 1024):
                damage = 0.0 if bits == 16 else TABLE[f"k{bits}-token"] ** 2 * (1 + t / 1024)
                configs.append(Config(w, kv, 256 if bits < 16 else None))
                tokens.append(t)
                kl.append(damage * 40 + 0.01 * (w.bits == 4) + 1e-4 * rng.random())
                em.append(float(np.clip(0.95 - 3 * kl[-1] + 0.01 * rng.normal(), 0, 1)))
    return configs, np.array(tokens), np.array(kl), np.array(em)


def test_fit_returns_self_and_leaves_the_hyperparameters_as_given():
    configs, tokens, _, em = runs()
    model = MetricModel(Target("t", "em", "accuracy"), loss_floor=[0.01, 0.05], folds=3)
    assert model.fit(configs, tokens, em, TABLE) is model
    # the floor it chose and the form it fitted are learned state; the constructor's stay
    assert model.loss_floor == [0.01, 0.05] and model.floor_ in (0.01, 0.05)
    assert model.form == "log_sum" and model.form_ == "linear"  # a drop without a guide


def test_the_learned_state_round_trips_through_the_artifact_record_and_its_json():
    configs, tokens, kl, em = runs()
    for target, values, guide in ((Target("t", "kl", "loss"), kl, None),
                                  (Target("t", "em", "accuracy", samples=64), em, kl)):
        model = MetricModel(target, loss_floor=0.01, folds=3).fit(configs, tokens, values,
                                                                  TABLE, guide=guide)
        record = model.to_fit()
        again = MetricModel.from_fit(MetricFit.model_validate_json(record.model_dump_json()))
        assert again.to_fit() == record
        d = design([Config(kv=KVScheme(4, 2, "token"), chunk=256), Config()], TABLE)
        for ctx in (384, 4096):
            a, b = model.predict(d, ctx), again.predict(d, ctx)
            assert np.array_equal(a.mean, b.mean) and np.array_equal(a.upper, b.upper)
            assert np.array_equal(predict(record, d, ctx).lower, a.lower)


def test_an_unfitted_model_or_an_unknown_hyperparameter_is_refused():
    model = MetricModel(Target("t", "kl", "loss"))
    with pytest.raises(ValueError, match="not fitted"):
        model.to_fit()
    with pytest.raises(TypeError, match="unknown hyperparameters"):
        model.with_params(flor=0.1)
    assert model.with_params(folds=3).folds == 3 and model.folds == 5


def test_a_kind_outside_the_two_is_refused_with_the_allowed_ones():
    configs, tokens, kl, _ = runs()
    with pytest.raises(ValueError, match="'accuracy' or 'loss'"):
        MetricModel(Target("t", "kl", "gain")).fit(configs, tokens, kl, TABLE)  # type: ignore[arg-type]

"""The 16-bit anchors tell when the model itself changes beyond the calibrated lengths."""

import pytest

from models.accuracy import MetricModel, Target
from models.regime import baseline_shift
from models.space import Config, KVScheme


@pytest.fixture(scope="module")
def nll_fit():
    configs = [Config(), Config(kv=KVScheme(4, 4, "token")), Config(kv=KVScheme(2, 2, "token"))]
    table = {"k4-token": 0.05, "v4-token": 0.05, "k2-token": 0.3, "v2-token": 0.3}
    model = MetricModel(Target("passkey", "answer_nll", "loss"), folds=2, loss_floor=0.01,
                        widen=False)
    return model.fit(configs * 2, [256] * 3 + [512] * 3,
                     [0.001, 0.01, 0.5, 0.001, 0.012, 0.6], table).to_fit()


def test_a_16bit_loss_that_jumps_beyond_the_calibrated_lengths_is_reported(nll_fit):
    fit = nll_fit.model_copy(update={"baseline": {256: 0.001, 512: 0.001, 1024: 0.1, 2048: 12.0}})
    msg = baseline_shift({"answer_nll": fit}, 1024)
    assert msg is not None and "0.1 at 1024" in msg and "0.001 at 512" in msg
    # beyond the last anchor the value is the one measured there, and says so
    assert "12 at 2048" in (baseline_shift({"answer_nll": fit}, 8192) or "")


def test_inside_the_range_small_changes_or_no_nll_model_say_nothing(nll_fit):
    steady = nll_fit.model_copy(update={"baseline": {256: 0.001, 512: 0.001, 1024: 0.002}})
    assert baseline_shift({"answer_nll": steady}, 384) is None
    assert baseline_shift({"answer_nll": steady}, 256) is None
    # 2x, and below the noise floor: not a change of regime
    assert baseline_shift({"answer_nll": steady}, 1024) is None
    tripled_but_tiny = nll_fit.model_copy(update={"baseline": {256: 0.001, 512: 0.001,
                                                               1024: 0.005}})
    assert baseline_shift({"answer_nll": tripled_but_tiny}, 1024) is None
    assert baseline_shift({}, 1024) is None

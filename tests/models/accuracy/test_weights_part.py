"""The 4-bit weights' own KL as served: each AWQ group its measured table, and a prompt set's
standard error in the interval."""

from __future__ import annotations

import numpy as np
import pytest

from models.accuracy.design import design
from models.accuracy.prediction import weights_part
from models.artifact import MetricFit
from models.space import parse_config

IDS = ("w16-k16v16-cfull", "w4-k16v16-cfull", "w4g64-k16v16-cfull", "w4g32-k16v16-cfull")


def fit(groups, se=None):
    return MetricFit.model_construct(weights_kl=groups[128], weights_kl_groups=groups,
                                     weights_kl_se=se)


def rows():
    return design([parse_config(i) for i in IDS], {})


def test_each_group_takes_its_own_table_and_unmeasured_ones_group_128s():
    f = fit({128: {512: 0.1, 1024: 0.2}, 64: {512: 0.3, 1024: 0.4}})
    awq, se = weights_part(f, rows(), np.full(4, 1024, dtype=np.int64))
    assert awq.tolist() == [0.0, 0.2, 0.4, 0.2]  # w16, g128, g64, g32 (unmeasured: g128's)
    assert se.tolist() == [0.0] * 4


def test_the_standard_error_is_per_group_and_interpolated_in_log_context():
    f = fit({128: {512: 0.1, 2048: 0.3}, 32: {512: 0.5, 2048: 0.5}},
            se={128: {512: 0.01, 2048: 0.03}})
    awq, se = weights_part(f, rows(), np.full(4, 1024, dtype=np.int64))
    assert awq[1] == pytest.approx(0.2)
    assert awq[3] == pytest.approx(0.5)
    assert se.tolist() == pytest.approx([0.0, 0.02, 0.02, 0.0])  # g64 falls back to g128's


def test_older_artifacts_without_groups_serve_group_128_everywhere():
    f = MetricFit.model_construct(weights_kl={512: 0.1}, weights_kl_groups=None,
                                  weights_kl_se=None)
    awq, se = weights_part(f, rows(), np.full(4, 512, dtype=np.int64))
    assert awq.tolist() == [0.0, 0.1, 0.1, 0.1]
    assert not se.any()


def test_unknown_group_sizes_are_refused():
    with pytest.raises(ValueError, match="AWQ group sizes are 128, 64, 32"):
        MetricFit.model_validate({**fit({128: {512: 0.1}}).__dict__, "task": "t", "metric": "kl",
                                  "kind": "loss", "feature_names": [], "coef": [],
                                  "knots": {}, "baseline": {512: 0.0}, "interval_q": 0.1,
                                  "contexts": [512], "weights_kl_groups": {16: {512: 0.1}}})

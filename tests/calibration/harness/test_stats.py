"""Harness statistics: Wilson interval, KL/agreement, outlier ratio."""

from __future__ import annotations

import pytest
import torch

from calibration.harness.stats import kl_and_agreement, outlier_ratio, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634),
     (81, 100, 0.7222, 0.8749)],
    ids=["none", "all", "half", "81of100"],
)
def test_wilson_matches_reference_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="within 0..n=3"):
        wilson_interval(4, 3)


def test_kl_zero_on_identical_and_positive_otherwise() -> None:
    logits = torch.randn(5, 11)
    kl, agree = kl_and_agreement(logits, logits)
    assert torch.allclose(kl, torch.zeros(5), atol=1e-6)
    assert bool(agree.all())
    kl2, _ = kl_and_agreement(logits, logits + torch.randn(5, 11))
    assert bool((kl2 > 0).all())


def test_outlier_ratio() -> None:
    keys = torch.ones(1, 2, 10, 8)
    assert outlier_ratio(keys) == 1.0
    keys[0, 1, :, 3] = 9.0
    assert outlier_ratio(keys) == 9.0

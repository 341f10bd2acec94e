"""Harness statistics: Wilson interval, KL/agreement, outlier ratio."""

from __future__ import annotations

import pytest
import torch

from calibration.harness.stats import Reference, outlier_ratio, wilson_interval


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


def test_reference_scores_as_the_textbook_formulas() -> None:
    g = torch.Generator().manual_seed(0)
    ref_logits = (4 * torch.randn(7, 50, generator=g)).to(torch.bfloat16)
    logits = (ref_logits.float() + torch.randn(7, 50, generator=g)).to(torch.bfloat16)
    targets = torch.randint(0, 50, (3,), generator=g)
    ref = Reference([ref_logits[:4], ref_logits[4:]])  # question and answer parts
    kl, agree, picked = ref.score([logits[:4], logits[4:]], targets, 4)
    p, q = (torch.log_softmax(x.float(), dim=-1) for x in (ref_logits, logits))
    assert torch.allclose(kl, (p.exp() * (p - q)).sum(dim=-1), atol=1e-6)
    assert torch.equal(agree, (p.argmax(-1) == q.argmax(-1)).float())
    assert torch.allclose(picked, q[4:].gather(1, targets[:, None])[:, 0], atol=1e-6)
    assert bool((kl > 0).all())
    same_kl, same_agree, _ = ref.score([ref_logits[:4], ref_logits[4:]], targets, 4)
    assert bool((same_kl == 0).all())  # exactly, not to rounding
    assert bool(same_agree.all())


def test_outlier_ratio() -> None:
    keys = torch.ones(1, 2, 10, 8)
    assert outlier_ratio(keys) == 1.0
    keys[0, 1, :, 3] = 9.0
    assert outlier_ratio(keys) == 9.0

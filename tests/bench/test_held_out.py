"""Held-out scores: MAE against the trivial predictor, rank, and interval coverage."""

import math

import pytest

from bench.held_out import held_out_scores, least_interval_mass


def test_scores_of_a_perfect_and_a_constant_prediction():
    y = [0.9, 0.5, 0.1]
    s = held_out_scores(y, y, [0.8, 0.4, 0.2], [1.0, 0.6, 0.3], trivial=[1.0, 1.0, 1.0])
    assert s.mae == 0
    assert s.ratio == 0
    assert math.isclose(s.trivial_mae, 0.5)
    assert s.spearman == 1.0
    assert (s.inside, s.n) == (2, 3)
    flat = held_out_scores(y, [1.0] * 3, [0.0] * 3, [1.0] * 3, trivial=[1.0] * 3)
    assert math.isnan(flat.spearman)
    assert flat.ratio == 1.0
    assert flat.coverage == 1.0


def test_an_exact_interval_at_the_ceiling_covers_more_than_its_level():
    # p = 0.997 on 64 prompts: P(64) = 0.825, P(63) = 0.159; a 90 % interval must hold both
    assert least_interval_mass(0.997, 64) == pytest.approx(0.825 + 0.159, abs=0.002)
    # mid-range the binomial is fine-grained: the least 90 % interval holds little more
    assert 0.9 <= least_interval_mass(0.5, 64) < 0.93
    assert least_interval_mass(1.0, 64) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="level"):
        least_interval_mass(0.5, 64, level=0.0)


def test_degraded_coverage_counts_only_runs_that_lost_three_prompts_or_more():
    from bench.held_out import degraded_coverage

    base = [1.0, 1.0, 1.0, 0.9]
    y = [1.0, 62 / 64, 61 / 64, 0.5]  # lost 0, 2, 3 prompts; 0.4 below its own 16-bit value
    lower, upper = [0.9, 0.9, 0.96, 0.6], [1.0, 1.0, 1.0, 0.8]
    assert degraded_coverage(y, lower, upper, base, 64) == (0, 2)  # both degraded runs missed
    assert degraded_coverage(y, [0.0] * 4, [1.0] * 4, base, 64) == (2, 2)
    assert degraded_coverage(y, lower, upper, base, 64, lost=2) == (1, 3)

"""Scores of predictions on held-out runs, as the calibration acceptance states them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, spearmanr


@dataclass(frozen=True)
class HeldOutScores:
    mae: float
    trivial_mae: float  # of the predictor that always answers the measured 16-bit value
    spearman: float  # NaN when either side is constant
    inside: int  # runs inside their 90% interval
    n: int

    @property
    def ratio(self) -> float:
        return self.mae / max(self.trivial_mae, 1e-12)

    @property
    def coverage(self) -> float:
        return self.inside / self.n


def held_out_scores(measured: Sequence[float], mean: Sequence[float], lower: Sequence[float],
                    upper: Sequence[float], trivial: Sequence[float]) -> HeldOutScores:
    y, m = np.asarray(measured, dtype=float), np.asarray(mean, dtype=float)
    rho = spearmanr(m, y).statistic if np.ptp(y) > 0 and np.ptp(m) > 0 else float("nan")
    inside = (np.asarray(lower) <= y) & (y <= np.asarray(upper))
    return HeldOutScores(float(np.abs(y - m).mean()),
                         float(np.abs(y - np.asarray(trivial, dtype=float)).mean()),
                         float(rho), int(inside.sum()), len(y))


LOST_PROMPTS = 3  # a run "degrades" when it answers this many prompts fewer than the 16-bit model


def degraded_coverage(measured: Sequence[float], lower: Sequence[float], upper: Sequence[float],
                      baseline: Sequence[float], samples: int, lost: int = LOST_PROMPTS
                      ) -> tuple[int, int]:
    """(covered, count) of the runs that really degraded: `lost` or more prompts below the
    16-bit model measured on the same prompts — coverage conditional on the measured drop, which
    pooled coverage hides when most runs sit at the ceiling."""
    y = np.asarray(measured, dtype=float)
    down = (np.asarray(baseline, dtype=float) - y) * samples >= lost - 1e-9
    inside = (np.asarray(lower) <= y) & (y <= np.asarray(upper))
    return int(inside[down].sum()), int(down.sum())


def least_interval_mass(p: float, n: int, level: float = 0.9) -> float:
    """The least probability that an interval of whole-prompt outcomes k/n can hold while holding
    at least `level` of a Binomial(n, p) measurement: what even an exactly right prediction p with
    an exact `level` interval covers. Near the ceiling it is far above `level` (p = 0.997 on 64
    prompts: none lost 83 %, one 16 %, so any 90 % interval holds 98 %)."""
    if n <= 0 or not 0.0 < level <= 1.0:
        raise ValueError(f"need n ≥ 1 and 0 < level ≤ 1; got n={n}, level={level}")
    cdf = np.r_[0.0, binom.cdf(np.arange(n + 1), n, float(np.clip(p, 0.0, 1.0)))]
    mass = cdf[None, 1:] - cdf[:-1, None]  # [a, b]: P(a ≤ k ≤ b), b ≥ a on and above the diagonal
    ok = np.triu(mass >= level - 1e-12)
    return float(mass[ok].min())

"""Scores of predictions on held-out runs, as the calibration acceptance states them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr


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

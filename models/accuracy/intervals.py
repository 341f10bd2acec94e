"""Split-conformal half-widths: one overall, or Mondrian per bin of the predicted value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.accuracy.design import F64

# Bins of the predicted drop for Mondrian conformal intervals: a saturated metric gets a tight
# interval where nothing degrades and a wide one where it does.
# The last edge is nominal (JSON has no infinity): the last bin takes everything above.
DROP_BINS = (0.02, 0.1, 1.0)
# Bins of the predicted loss added to the 16-bit one (nats) for a loss's Mondrian intervals: its
# log-space error differs by regime (docs/accuracy.md: one width for all covered KL 65 % where
# the frontier bends; with these bins every stretch covers 80-100 %).
LOSS_BINS = (0.1, 1.0, 10.0)
MIN_BIN_RUNS = 8
# Interval growth per doubling beyond the calibrated range, the least of which that covers a
# held-out longest context is kept: at least some growth, one measured doubling cannot vouch
# for the next ones.
WIDENINGS = (0.125, 0.25, 0.5, 1.0, 2.0)


def conformal_q(residuals: F64, coverage: float) -> float:
    n = len(residuals)
    if n == 0:
        return 0.0
    level = min(1.0, float(np.ceil((n + 1) * coverage)) / n)
    return float(np.quantile(residuals, level))


def binned_q(pred: F64, residuals: F64, coverage: float,
             edges: Sequence[float] = DROP_BINS, monotone: bool = True
             ) -> list[tuple[float, float]]:
    """(upper edge, conformal half-width) per bin of the predicted value; the last edge is
    nominal (the last bin takes everything above). `monotone`: a bin is never narrower than the
    one below (an accuracy's drop: more damage is never more certain)."""
    bins: list[tuple[float, float]] = []
    lowers = [-np.inf, *edges[:-1]]
    for i, edge in enumerate(edges):
        upper = np.inf if i == len(edges) - 1 else edge
        # A sparse bin borrows the runs of the bins below it (never the tighter overall width
        # alone: few degraded runs must not make a degraded prediction look certain).
        j = i
        inside = (pred > lowers[j]) & (pred <= upper)
        while inside.sum() < MIN_BIN_RUNS and j > 0:
            j -= 1
            inside = (pred > lowers[j]) & (pred <= upper)
        q = conformal_q(residuals[inside], coverage)
        bins.append((edge, max(q, bins[-1][1]) if bins and monotone else q))
    return bins


def bin_width(bins: list[tuple[float, float]], value: F64) -> F64:
    """Each value's half-width from Mondrian bins (upper edge, width); the last takes the rest."""
    edges = np.array([e for e, _ in bins])
    qs = np.array([q for _, q in bins])
    return np.asarray(qs[np.minimum(np.searchsorted(edges, value), len(qs) - 1)],
                      dtype=np.float64)

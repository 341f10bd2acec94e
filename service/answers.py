"""Decisions over an `Evaluation` (pure, no HTTP): which rows a request allows, which fit, which
meet the accuracy constraints, which are on the frontier, which is best.

Masks select rows; the Pareto maths lives in `models.frontier`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.frontier import pareto_indices
from models.memory import GIB
from service.engine import SHOWN_DECIMALS, Accuracy, Evaluation
from service.errors import InputError
from service.registry import ModelEntry
from service.schemas.common import GridFilter

Mask = NDArray[np.bool_]
F64 = NDArray[np.float64]


def allowed_rows(
    entry: ModelEntry, filters: GridFilter, configs: list[str] | None, max_grid: int
) -> Mask:
    """Rows allowed by the filters and an optional explicit id list; 422 when too many."""
    mask = entry.grid.mask(filters.weights, filters.k_bits, filters.v_bits)
    if configs is not None:
        rows = entry.grid.rows
        missing = [c for c in configs if c not in rows]
        if missing:
            raise InputError(("body", "configs"), f"not in {entry.name}'s served grid: "
                             f"{', '.join(missing[:5])}; list them with POST /v1/frontier")
        chosen = np.zeros(len(entry.grid), dtype=bool)
        chosen[[rows[c] for c in configs]] = True
        mask &= chosen
    count = int(mask.sum())
    if count > max_grid:
        raise InputError(("body",), f"the request selects {count} configurations; this "
                         f"service evaluates at most {max_grid}: narrow weights, k_bits, v_bits")
    if count == 0:
        raise InputError(("body",), "the filters select no configuration of this model")
    return mask


def fits(ev: Evaluation, mask: Mask, budget_gib: float | None) -> Mask:
    if budget_gib is None:
        return mask
    return mask & (ev.memory.bound <= int(budget_gib * GIB))


def frontier_rows(
    ev: Evaluation, fit_mask: Mask, limit: int, cap: int
) -> tuple[list[int], int, int, int]:
    """(rows on the frontier by memory, dominated, unpredictable, truncated).

    `limit` cuts memory-only listings; a Pareto frontier is only cut at the service's `cap`.
    """
    peak = ev.memory.peak
    if ev.accuracy is None or ev.accuracy.unknown:
        idx = np.flatnonzero(fit_mask)
        order = idx[np.argsort(peak[idx], kind="stable")]
        return order[:limit].tolist(), 0, 0, max(0, len(order) - limit)
    known = fit_mask & ~np.isnan(ev.accuracy.mean)
    idx = np.flatnonzero(known)
    front = idx[pareto_indices(peak[idx], ev.accuracy.score[idx])]
    unpredictable = int(fit_mask.sum()) - len(idx)
    return front[:cap].tolist(), len(idx) - len(front), unpredictable, max(0, len(front) - cap)


def judged(acc: Accuracy, baseline_row: int, conservative: bool) -> tuple[F64, F64]:
    """(value, drop) per row as the constraints judge them; NaN where unpredictable."""
    pessimistic = acc.lower if acc.higher_is_better else acc.upper
    value = pessimistic if conservative else acc.mean
    sign = 1.0 if acc.higher_is_better else -1.0
    drop = sign * (acc.mean[baseline_row] - value)
    return value, drop


def meets(
    value: F64, drop: F64, higher_is_better: bool, floor: float | None, max_drop: float | None
) -> Mask:
    """Per row: predictable, at or above the floor (at or below, for a loss), within the drop."""
    ok = ~np.isnan(value)
    with np.errstate(invalid="ignore"):
        if floor is not None:
            ok &= value >= floor if higher_is_better else value <= floor
        if max_drop is not None:
            ok &= drop <= max_drop + 1e-12
    return np.asarray(ok, dtype=np.bool_)


def satisfied(
    acc: Accuracy, baseline_row: int, ok: Mask, floor: float | None, max_drop: float | None,
    conservative: bool,
) -> tuple[Mask, F64]:
    """Rows meeting the floor (a ceiling for loss metrics) and the drop limit; and their score."""
    value, drop = judged(acc, baseline_row, conservative)
    ok = ok & meets(value, drop, acc.higher_is_better, floor, max_drop)
    score = value if acc.higher_is_better else -value
    return ok, score


def best_row(ev: Evaluation, ok: Mask, score: F64) -> int:
    """Highest score; among equals (to the shown decimals: a lossless quantized row can sit an
    ulp below the 16-bit one), the least peak memory."""
    idx = np.flatnonzero(ok)
    order = np.lexsort((ev.memory.peak[idx], -np.round(score[idx], SHOWN_DECIMALS)))
    return int(idx[order[0]])

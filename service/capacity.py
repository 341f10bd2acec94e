"""Longest context that fits a budget (and meets an accuracy floor), searched per configuration.

Memory: exact integer bisection on the monotone peak, vectorised over rows. Accuracy: judged on
a geometric ladder of contexts (full-grid predictions, cached), then verified exactly at the
memory bound of the leading rows, so the answer never claims an unchecked accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.memory import GridLedger
from service.answers import satisfied
from service.engine import Evaluation, evaluate
from service.registry import ModelEntry

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]
LADDER_POINTS = 48
VERIFY_ROWS = 32


def memory_bound(entry: ModelEntry, idx: I64, budget_bytes: int, ceiling: int) -> I64:
    """Per row of `idx`: the largest context ≤ ceiling whose peak fits (0 if even 1 token fails)."""
    cal = entry.calibration
    coef = cal.coefficients if cal else None
    led = GridLedger(entry.spec, entry.grid.arrays.take(idx), coef)

    def fits(tokens: I64) -> Mask:
        return led.at(tokens).peak <= budget_bytes

    lo = np.where(fits(np.ones(len(idx), dtype=np.int64)), 1, 0).astype(np.int64)
    hi = np.where(lo > 0, ceiling, 0).astype(np.int64)
    while np.any(lo < hi):
        mid = (lo + hi + 1) // 2
        ok = fits(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid - 1)
    return lo


@dataclass(frozen=True)
class Constraint:
    task: str | None
    metric: str | None
    floor: float | None
    max_drop: float | None
    conservative: bool
    cache_size: int

    @property
    def active(self) -> bool:
        return self.floor is not None or self.max_drop is not None


def _ok_at(
    entry: ModelEntry, ctx: int, c: Constraint, mask: Mask
) -> tuple[Mask, NDArray[np.float64]]:
    ev = evaluate(entry, ctx, c.task, c.metric, c.cache_size)
    return satisfied(ev, mask, c.floor, c.max_drop, c.conservative)


def _verify(entry: ModelEntry, rows: I64, bounds: I64, c: Constraint, mask: Mask) -> Mask:
    """Exact check of the constraint for each row at its own context (grouped by context)."""
    out = np.zeros(len(rows), dtype=bool)
    for ctx in np.unique(bounds):
        sel = bounds == ctx
        ok, _ = _ok_at(entry, int(ctx), c, mask)
        out[sel] = ok[rows[sel]]
    return out


def search(
    entry: ModelEntry, mask: Mask, budget_bytes: int, ceiling: int, c: Constraint
) -> tuple[int, int] | None:
    """(row, context) of the longest feasible context, ties to the best score; None if none."""
    idx = np.flatnonzero(mask)
    bound = memory_bound(entry, idx, budget_bytes, ceiling)
    if not np.any(bound > 0):
        return None
    if not c.active:
        top = idx[bound == bound.max()]
        ev = evaluate(entry, int(bound.max()), c.task, c.metric, c.cache_size)
        return _tie_break(ev, top), int(bound.max())
    ladder = np.unique(np.geomspace(min(64, ceiling), ceiling, LADDER_POINTS).astype(np.int64))
    best_ctx = np.zeros(len(idx), dtype=np.int64)  # largest ladder context that passes
    for ctx in ladder[ladder <= bound.max()]:
        ok, _ = _ok_at(entry, int(ctx), c, mask)
        best_ctx = np.where(ok[idx] & (bound >= ctx), ctx, best_ctx)
    # rows whose memory bound beats every ladder answer: check them exactly at the bound
    lead = np.flatnonzero(bound > best_ctx.max())
    lead = lead[np.argsort(-bound[lead], kind="stable")][:VERIFY_ROWS]
    if lead.size:
        passed = _verify(entry, idx[lead], bound[lead], c, mask)
        best_ctx[lead[passed]] = bound[lead[passed]]
    if best_ctx.max() == 0:
        return None
    context = int(best_ctx.max())
    ok, score = _ok_at(entry, context, c, mask)
    top = idx[(best_ctx == context) & ok[idx]]
    ev = evaluate(entry, context, c.task, c.metric, c.cache_size)
    return _tie_break(ev, top, score), context


def _tie_break(ev: Evaluation, rows: I64, score: NDArray[np.float64] | None = None) -> int:
    """Best score (if any), then least peak memory, among `rows`."""
    peak = ev.memory.peak[rows]
    if score is None and ev.accuracy is not None:
        score = np.nan_to_num(ev.accuracy.score, nan=-np.inf)
    keys = (peak,) if score is None else (peak, -score[rows])
    return int(rows[np.lexsort(keys)[0]])

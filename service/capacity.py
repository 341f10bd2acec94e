"""Longest context that fits a budget (and meets an accuracy floor), searched per configuration.

Memory: a row fits through L when its peak fits at every context 1..L
(`models.memory.capacity`); the longest such L is searched at whole-grid contexts, each
evaluated once per request on the model's cached ledger, and exactly per row only for the few
rows that lead. Accuracy: judged on a geometric ladder of contexts (full-grid predictions,
cached), then verified exactly at the memory bound of the leading rows, so the answer never
claims an unchecked accuracy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.accuracy import Design, predict
from models.artifact import MetricFit
from models.memory import GridLedger
from models.memory.capacity import PeakMemo, bounds_through, longest_through
from service.answers import judged, meets, satisfied
from service.engine import (
    Accuracy,
    Evaluation,
    accuracy_at,
    accuracy_limit,
    choose_metric,
    evaluate,
    memory_at,
)
from service.registry import ModelEntry

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
LADDER_POINTS = 48
VERIFY_ROWS = 32


def ladder(ceiling: int) -> I64:
    """The contexts the accuracy constraints are judged at (shared by requests)."""
    return np.unique(np.geomspace(min(64, ceiling), ceiling, LADDER_POINTS).astype(np.int64))


def peak_memo(entry: ModelEntry) -> PeakMemo:
    """Whole-grid peaks of one request, each computed once (kept only for this request)."""
    return PeakMemo(lambda context: memory_at(entry, context, 0).peak)


def narrow_memo(entry: ModelEntry) -> Callable[[I64], PeakMemo]:
    """A memo of just some grid rows (a search's last candidates), on their own ledger."""

    def narrow(rows: I64) -> PeakMemo:
        led = GridLedger(entry.spec, entry.grid.arrays.take(rows), entry.coefficients)
        return PeakMemo(lambda context: led.at(context).peak)

    return narrow


@dataclass(frozen=True, eq=False)
class Rung:
    """What a ladder context contributes to every request: predictions and worst peaks."""

    accuracy: Accuracy
    worst: I64  # per row, the largest peak at any context up to the rung
    judged: dict[bool, tuple[F64, F64]] = field(default_factory=dict)  # conservative → it

    def passing(self, baseline_row: int, c: Constraint) -> Mask:
        """Rows whose predictions meet the request's constraints at this rung."""
        if c.conservative not in self.judged:  # benign race: both compute the same arrays
            self.judged[c.conservative] = judged(self.accuracy, baseline_row, c.conservative)
        value, drop = self.judged[c.conservative]
        return meets(value, drop, self.accuracy.higher_is_better, c.floor, c.max_drop)


class Ladder:
    """The rungs of one model, ceiling and metric, made on first use and shared by requests
    (one slot of the entry's LRU, so a scan over the rungs never evicts its own rungs)."""

    def __init__(self, entry: ModelEntry, fit: MetricFit, ceiling: int) -> None:
        self.entry, self.fit, self.contexts = entry, fit, ladder(ceiling)
        self._rungs: dict[int, Rung] = {}
        self._lock = threading.Lock()  # a burst of requests makes each rung once, not each

    def rung(self, context: int, memo: PeakMemo) -> Rung:
        made = self._rungs.get(context)
        if made is None:
            with self._lock:
                made = self._rungs.get(context)
                if made is None:
                    acc = accuracy_at(self.entry, self.fit, context, 0)
                    made = self._rungs[context] = Rung(acc, memo.worst(context))
        return made


def the_ladder(entry: ModelEntry, c: Constraint, ceiling: int) -> Ladder:
    fit = choose_metric(entry, c.task, c.metric)
    if fit is None:
        raise ValueError("accuracy constraints need an accuracy model")
    key = ("ladder", ceiling, fit.task, fit.metric)
    made = entry.cache.setdefault(key, c.cache_size, lambda: Ladder(entry, fit, ceiling))
    return made  # type: ignore[return-value]


def memory_bounds(
    entry: ModelEntry, rows: I64, budget_bytes: int, lo: I64, ceiling: int
) -> I64:
    """Per row of `rows` (a few), the longest context ≤ ceiling it fits through, given `lo`."""
    led = GridLedger(entry.spec, entry.grid.arrays.take(rows), entry.coefficients)
    return bounds_through(led, budget_bytes, lo, ceiling)


def leading(
    entry: ModelEntry, memo: PeakMemo, rows: I64, budget_bytes: int, after: int, ceiling: int
) -> tuple[I64, I64]:
    """Positions in `rows` of the (at most VERIFY_ROWS) rows that fit through the longest
    contexts beyond `after`, longest first (ties in row order), and those contexts."""
    if after >= ceiling:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos = np.flatnonzero(memo.worst(after + 1)[rows] <= budget_bytes)
    if pos.size == 0:
        return pos, pos
    lo = after + 1
    if pos.size > VERIFY_ROWS:  # keep those through the VERIFY_ROWS-th longest context
        lo = longest_through(memo, rows[pos], budget_bytes, ceiling, VERIFY_ROWS, lo,
                             narrow_memo(entry))
        pos = pos[memo.worst(lo)[rows[pos]] <= budget_bytes]
    bound = np.full(pos.size, lo, dtype=np.int64)
    more = memo.worst(lo + 1)[rows[pos]] <= budget_bytes if lo < ceiling else bound < 0
    if more.any():  # fewer than VERIFY_ROWS rows: exactly, each at its own contexts
        bound[more] = memory_bounds(entry, rows[pos[more]], budget_bytes, bound[more] + 1,
                                    ceiling)
    order = np.argsort(-bound, kind="stable")[:VERIFY_ROWS]
    return pos[order], bound[order]


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
    if ev.accuracy is None:
        raise ValueError("accuracy constraints need an accuracy model")
    return satisfied(ev.accuracy, ev.baseline_row, mask, c.floor, c.max_drop, c.conservative)


def _verify(entry: ModelEntry, rows: I64, bounds: I64, c: Constraint) -> Mask:
    """Exact check of the constraint for each row at its own context: one prediction of just
    those rows, and of the 16-bit baseline at each of their contexts (rows are independent)."""
    cal, fit = entry.calibration, choose_metric(entry, c.task, c.metric)
    if cal is None or cal.design is None or fit is None:
        raise ValueError("accuracy constraints need an accuracy model")
    contexts, which = np.unique(bounds, return_inverse=True)
    asked = np.concatenate([rows, np.full(len(contexts), entry.grid.baseline_row)])
    at = np.concatenate([bounds, contexts])
    position = np.full(len(entry.grid), -1, dtype=np.int64)  # grid row → design row
    position[cal.predictable] = np.arange(len(cal.predictable))
    known = position[asked] >= 0
    d = cal.design
    take = position[asked][known]
    sub = Design(d.grid.take(take), d.k_error[take], d.v_error[take], d.w4[take])
    pred = predict(fit, sub, at[known])
    mean, lower, upper = (np.full(len(asked), np.nan) for _ in range(3))
    mean[known], lower[known], upper[known] = pred.mean, pred.lower, pred.upper
    past = at > accuracy_limit(entry, fit)  # never claimed past the 16-bit anchors
    mean[past], lower[past], upper[past] = np.nan, np.nan, np.nan
    higher = fit.kind == "accuracy"
    value = ((lower if higher else upper) if c.conservative else mean)[:len(rows)]
    base = mean[len(rows):][which.ravel()]
    drop = (1.0 if higher else -1.0) * (base - value)
    return meets(value, drop, higher, c.floor, c.max_drop)


def search(
    entry: ModelEntry, mask: Mask, budget_bytes: int, ceiling: int, c: Constraint
) -> tuple[int, int] | None:
    """(row, context) of the longest feasible context, ties to the best score; None if none."""
    idx = np.flatnonzero(mask)
    memo = peak_memo(entry)
    longest = longest_through(memo, idx, budget_bytes, ceiling, narrow=narrow_memo(entry))
    if longest == 0:
        return None
    if not c.active:
        ev = evaluate(entry, longest, c.task, c.metric, c.cache_size)  # keeps its peaks
        top = idx[memo.worst(longest)[idx] <= budget_bytes]
        return _tie_break(ev, top), longest
    steps = the_ladder(entry, c, ceiling)
    best = np.zeros(len(mask), dtype=np.int64)  # per grid row: largest ladder context passing
    for ctx in steps.contexts[steps.contexts <= longest]:
        rung = steps.rung(int(ctx), memo)
        passing = rung.passing(entry.grid.baseline_row, c) & (rung.worst <= budget_bytes)
        best[passing] = ctx
    best_ctx = best[idx]
    # rows that fit through longer contexts than every ladder answer: check them exactly there
    lead, bound = leading(entry, memo, idx, budget_bytes, int(best_ctx.max()), ceiling)
    if lead.size:
        passed = _verify(entry, idx[lead], bound, c)
        best_ctx[lead[passed]] = bound[passed]
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

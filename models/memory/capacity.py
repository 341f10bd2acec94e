"""Longest context within a memory budget, per configuration of a `GridLedger` (pure maths).

A row *fits through* L when its peak fits at every context 1..L. The peak rises with the context
except where a `channel` cache quantizes a whole 32-token group (`CHANNEL_GROUP_TOKENS`): its K/V
bytes then fall by the group's 16-bit surplus, and rise again token by token; the group's tops
(the token before each boundary) do not fall. So the largest peak over 1..L is the peak at L or
at the last top before L (`last_top`), and at a top it is the peak itself: a search steps over
tops first and needs one peak per context it tries. The residual windows are whole groups, so
every row's tops are the same contexts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from models.memory.grid import I64
from models.memory.ledger import GridLedger
from models.space import CHANNEL_GROUP_TOKENS, RESIDUALS

GROUP = CHANNEL_GROUP_TOKENS
if any(r % GROUP for r in RESIDUALS):  # the tops would differ per row
    raise ValueError(f"residual windows {RESIDUALS} must be whole {GROUP}-token groups")


def last_top(context_tokens: I64 | int) -> I64:
    """The largest top (GROUP·j − 1, j ≥ 1) at or before each context; −1 when none."""
    return np.asarray((np.asarray(context_tokens) + 1) // GROUP * GROUP - 1, dtype=np.int64)


class PeakMemo:
    """Peaks of one grid at scalar contexts, each computed once (`peak_at` makes them)."""

    def __init__(self, peak_at: Callable[[int], I64]) -> None:
        self.peak_at = peak_at
        self._peaks: dict[int, I64] = {}

    def peak(self, context_tokens: int) -> I64:
        if context_tokens not in self._peaks:
            self._peaks[context_tokens] = self.peak_at(context_tokens)
        return self._peaks[context_tokens]

    def worst(self, context_tokens: int) -> I64:
        """Per row, the largest peak at any context 1..context_tokens."""
        peak = self.peak(context_tokens)
        top = int(last_top(context_tokens))
        if 1 <= top < context_tokens:
            peak = np.maximum(peak, self.peak(top))
        return peak


def _next_mid(lo: int, hi: int) -> int:
    """A context strictly between lo and hi (hi − lo ≥ 2): a top near the middle if any."""
    mid = (lo + hi) // 2
    top = int(last_top(mid))
    return top if top > lo else mid


NARROW_ROWS = 2048  # rows still in the running at or below which a search narrows its memo


def longest_through(
    memo: PeakMemo, rows: I64, budget_bytes: int, ceiling: int, k: int = 1, lo: int = 1,
    narrow: Callable[[I64], PeakMemo] | None = None,
) -> int:
    """The largest L ≤ ceiling through which at least `k` of `rows` fit (0 if fewer fit
    through `lo`, which the caller may know to hold).

    Only rows that fit through the best context so far can fit through a longer one, so the
    search keeps just those; `narrow(rows)`, when given, makes a memo of just those grid rows
    (their positions 0..n-1), used once they are at most NARROW_ROWS."""
    alive = rows

    def fitting(context: int) -> NDArray[np.bool_]:
        return np.asarray(memo.worst(context)[alive] <= budget_bytes)

    ok = fitting(lo)
    if np.count_nonzero(ok) < k:
        return 0
    alive = alive[ok]
    if lo >= ceiling or np.count_nonzero(fitting(ceiling)) >= k:
        return ceiling
    hi = ceiling  # invariant: k of `alive` fit through lo, fewer through hi
    while hi - lo > 1:
        if narrow is not None and len(alive) <= NARROW_ROWS:
            memo, alive, narrow = narrow(alive), np.arange(len(alive)), None
        mid = _next_mid(lo, hi)
        ok = fitting(mid)
        if np.count_nonzero(ok) >= k:
            lo, alive = mid, alive[ok]
        else:
            hi = mid
    return lo


def bounds_through(led: GridLedger, budget_bytes: int, lo: I64, ceiling: int) -> I64:
    """Per row of `led` (a few rows), the largest L ≤ ceiling it fits through, given that it fits
    through `lo` (≥ 1): a bisection over per-row contexts, vectorised over the rows."""

    def through(context: I64) -> np.ndarray:
        peak = led.at(context).peak
        top = last_top(context)
        has = (top >= 1) & (top < context)
        if has.any():
            peak = np.where(has, np.maximum(peak, led.at(np.maximum(top, 1)).peak), peak)
        return np.asarray(peak <= budget_bytes)

    lo = np.asarray(lo, dtype=np.int64).copy()
    hi = np.full(len(lo), ceiling + 1, dtype=np.int64)
    at_top = through(np.full(len(lo), ceiling, dtype=np.int64))
    lo[at_top] = ceiling
    hi[~at_top] = ceiling
    while np.any(hi - lo > 1):
        open_ = hi - lo > 1
        half = (lo + hi) // 2
        top = last_top(half)
        mid = np.where(open_, np.where(top > lo, top, half), lo)
        ok = through(np.maximum(mid, 1))
        lo = np.where(open_ & ok, mid, lo)
        hi = np.where(open_ & ~ok, mid, hi)
    return lo

"""The fast capacity search equals a brute-force reference: every context 1..ceiling evaluated.

The reference is the search written plainly: each row's bound is the last context before its
peak first exceeds the budget (found by scanning), then the same ladder, verification and ties.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.memory import GridLedger
from models.memory.capacity import PeakMemo, bounds_through, longest_through
from service.capacity import LADDER_POINTS, VERIFY_ROWS, Constraint, _tie_break, search
from service.engine import evaluate
from service.registry import ModelEntry, load_registry
from service.testing.synthetic import CALIBRATED, UNCALIBRATED

CEILING = 700  # spans many 32-token channel groups, several chunk sizes and residual windows


def brute_bounds(entry: ModelEntry, budgets: list[int], ceiling: int) -> list[np.ndarray]:
    """Per budget, per grid row: the longest L ≤ ceiling whose contexts 1..L all fit."""
    led = GridLedger(entry.spec, entry.grid.arrays, entry.coefficients)
    bounds = [np.zeros(len(entry.grid), dtype=np.int64) for _ in budgets]
    alive = [np.ones(len(entry.grid), dtype=bool) for _ in budgets]
    for context in range(1, ceiling + 1):
        peak = led.at(context).peak
        for bound, live, budget in zip(bounds, alive, budgets, strict=True):
            live &= peak <= budget
            bound[live] = context
    return bounds


def reference_search(entry, mask, bound, ceiling, c):
    """`service.capacity.search` as first written, over exact per-row bounds."""
    idx = np.flatnonzero(mask)
    bound = bound[idx]
    if not np.any(bound > 0):
        return None
    if not c.active:
        top = idx[bound == bound.max()]
        ev = evaluate(entry, int(bound.max()), c.task, c.metric, 0)
        return _tie_break(ev, top), int(bound.max())
    ladder = np.unique(np.geomspace(min(64, ceiling), ceiling, LADDER_POINTS).astype(np.int64))
    best_ctx = np.zeros(len(idx), dtype=np.int64)
    for ctx in ladder[ladder <= bound.max()]:
        ok = _ok(entry, int(ctx), c, mask)
        best_ctx = np.where(ok[idx] & (bound >= ctx), ctx, best_ctx)
    lead = np.flatnonzero(bound > best_ctx.max())
    lead = lead[np.argsort(-bound[lead], kind="stable")][:VERIFY_ROWS]
    if lead.size:
        passed = np.zeros(len(lead), dtype=bool)  # whole-grid predictions at each context
        for ctx in np.unique(bound[lead]):
            sel = bound[lead] == ctx
            passed[sel] = _ok(entry, int(ctx), c, mask)[idx[lead][sel]]
        best_ctx[lead[passed]] = bound[lead[passed]]
    if best_ctx.max() == 0:
        return None
    context = int(best_ctx.max())
    from service.answers import satisfied

    ev = evaluate(entry, context, c.task, c.metric, 0)
    ok, score = satisfied(ev.accuracy, ev.baseline_row, mask, c.floor, c.max_drop,
                          c.conservative)
    top = idx[(best_ctx == context) & ok[idx]]
    return _tie_break(ev, top, score), context


def _ok(entry, ctx, c, mask):
    from service.answers import satisfied

    ev = evaluate(entry, ctx, c.task, c.metric, 0)
    return satisfied(ev.accuracy, ev.baseline_row, mask, c.floor, c.max_drop, c.conservative)[0]


@pytest.fixture(scope="module")
def registry(artifact_source: Path):
    return load_registry(artifact_source, False)


@pytest.fixture(scope="module")
def scanned(registry):
    """model → (budgets, their brute-force bounds), scanned once for the module."""
    out = {}
    for model in (CALIBRATED, UNCALIBRATED):
        entry = registry.models[model]
        budgets = _budgets(entry)
        out[model] = budgets, brute_bounds(entry, budgets, CEILING)
    return out


def _budgets(entry: ModelEntry) -> list[int]:
    """Budgets whose answers fall inside 1..CEILING for many rows, and one past it."""
    peak = entry.ledger.at(CEILING // 2).peak
    return [int(np.quantile(peak, q)) for q in (0.0, 0.02, 0.3, 0.7)] + [int(peak.max() * 2)]


@pytest.mark.parametrize("model", [CALIBRATED, UNCALIBRATED])
def test_bounds_and_kth_longest_equal_the_scan(registry, scanned, model):
    entry = registry.models[model]
    rows = np.arange(len(entry.grid))
    memo = PeakMemo(lambda context: entry.ledger.at(context).peak)
    for budget, bound in zip(*scanned[model], strict=True):
        assert ((bound > 0) & (bound < CEILING)).any() or budget == max(scanned[model][0])
        ordered = np.sort(bound)[::-1]
        for k in (1, 5, VERIFY_ROWS):
            assert longest_through(memo, rows, budget, CEILING, k) == ordered[k - 1], (budget, k)
        some = np.flatnonzero(bound > 0)[::97]
        led = GridLedger(entry.spec, entry.grid.arrays.take(some), entry.coefficients)
        got = bounds_through(led, budget, np.ones(len(some), dtype=np.int64), CEILING)
        assert np.array_equal(got, bound[some])


CASES = [
    dict(floor=None, max_drop=None, conservative=False),
    dict(floor=None, max_drop=0.05, conservative=False),
    dict(floor=None, max_drop=0.02, conservative=True),
    dict(floor=0.9, max_drop=None, conservative=False),
]


@pytest.mark.parametrize("case", CASES, ids=["memory", "drop", "drop-conservative", "floor"])
def test_search_equals_the_brute_force_reference(registry, scanned, case):
    entry = registry.models[CALIBRATED]
    c = Constraint(None, None, case["floor"], case["max_drop"], case["conservative"], 0)
    masks = [np.ones(len(entry.grid), dtype=bool), entry.grid.mask(weights=["w16"]),
             entry.grid.mask(k_bits=[2, 4])]
    for budget, bound in zip(*scanned[CALIBRATED], strict=True):
        for mask in masks:
            want = reference_search(entry, mask, bound, CEILING, c)
            assert search(entry, mask, budget, CEILING, c) == want, (budget, case)

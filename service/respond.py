"""One function per question, request model in, response model out (pure: no HTTP).

Decisions come from `service.answers` and `service.capacity`, texts and shapes from
`service.present`; a refusal is a `feasible: false` answer whose `reason` a person can act on.
"""

from __future__ import annotations

import numpy as np

from models.memory import GIB, ledger
from models.space import parse_config
from service import answers, present
from service.capacity import Constraint, search
from service.engine import evaluate
from service.errors import InputError
from service.registry import ModelEntry
from service.schemas.requests import (
    CapacityRequest,
    FrontierRequest,
    MemoryRequest,
    RecommendRequest,
)
from service.schemas.responses import (
    CapacityResponse,
    FrontierResponse,
    LedgerTerm,
    MemoryResponse,
    RecommendResponse,
)
from service.settings import Settings


def frontier(entry: ModelEntry, body: FrontierRequest, settings: Settings) -> FrontierResponse:
    entry = entry.for_runtime(body.runtime)
    mask = answers.allowed_rows(entry, body, body.configs, settings.max_grid)
    ev = evaluate(entry, body.context_tokens, body.task, body.metric, settings.cache_entries)
    fit_mask = answers.fits(ev, mask, body.budget_gib)
    limit = min(body.limit, settings.max_listed)
    rows, dominated, unpredictable, truncated = answers.frontier_rows(
        ev, fit_mask, limit, settings.max_listed)
    return FrontierResponse.model_validate({
        **present.header(ev, body.weights), "budget_gib": body.budget_gib,
        "evaluated": int(mask.sum()),
        "fitting": int(fit_mask.sum()), "unpredictable": unpredictable,
        "dominated": dominated if ev.accuracy else None, "truncated": truncated,
        "frontier": present.points(ev, rows),
        "points": present.cloud(ev, mask, fit_mask) if body.include_points else None,
    })


def recommend(entry: ModelEntry, body: RecommendRequest, settings: Settings) -> RecommendResponse:
    entry = entry.for_runtime(body.runtime)
    mask = answers.allowed_rows(entry, body, None, settings.max_grid)
    ev = evaluate(entry, body.context_tokens, body.task, body.metric, settings.cache_entries)
    fit_mask = answers.fits(ev, mask, body.budget_gib)
    n_fit = int(fit_mask.sum())
    where = f"in {present.gib_text(body.budget_gib, 6)} GiB at {body.context_tokens} tokens"
    row, reason = None, None
    if n_fit == 0:
        reason = f"nothing fits {where}: {present.smallest(ev, mask)}"
    elif ev.accuracy is None:
        reason = (f"{n_fit} configurations fit {where}, but {entry.name} has no calibration "
                  "artifact: without predicted accuracy none can be recommended (run "
                  "`kvpareto calibrate` and `kvpareto fit`); POST /v1/frontier lists them")
    elif ev.accuracy.unknown:
        reason = (f"{n_fit} configurations fit {where}, but {ev.accuracy.unknown}; none can "
                  "be recommended for accuracy; POST /v1/frontier lists them by memory")
    else:
        ok, score = answers.satisfied(ev.accuracy, ev.baseline_row, fit_mask,
                                      body.accuracy_floor, body.max_drop, body.conservative)
        if ok.any():
            row = answers.best_row(ev, ok, score)
        else:
            want = present.wanted(body.accuracy_floor, body.max_drop, body.conservative)
            reason = (f"{n_fit} configurations fit {where}, but none is predicted to meet "
                      f"{want}{present.describe_best(ev, fit_mask)}")
    return RecommendResponse.model_validate({
        **present.header(ev, body.weights), "budget_gib": body.budget_gib,
        "feasible": row is not None,
        "recommendation": present.points(ev, [row])[0] if row is not None else None,
        "reason": reason, "fitting": n_fit,
    })


def capacity(entry: ModelEntry, body: CapacityRequest, settings: Settings) -> CapacityResponse:
    entry = entry.for_runtime(body.runtime)
    mask = answers.allowed_rows(entry, body, None, settings.max_grid)
    ceiling = body.max_context_tokens or entry.spec.max_positions or 1 << 17
    c = Constraint(body.task, body.metric, body.accuracy_floor, body.max_drop,
                   body.conservative, settings.cache_entries)
    probe = evaluate(entry, ceiling, body.task, body.metric, settings.cache_entries)
    budget = present.gib_text(body.budget_gib, 6)
    want = present.wanted(body.accuracy_floor, body.max_drop, body.conservative)
    reason, found = None, None
    if c.active and probe.accuracy is None:
        reason = (f"{entry.name} has no calibration artifact: {want} cannot be checked; drop "
                  "the accuracy constraints for a memory-only answer")
    else:
        # "fits" is judged by the peak's upper bound (peak × the fit's bound factor)
        found = search(entry, mask, int(body.budget_gib * GIB / present.bound_factor(entry)),
                       ceiling, c)
        if found is None:
            ev1 = evaluate(entry, 1, body.task, body.metric, settings.cache_entries)
            if not np.any(answers.fits(ev1, mask, body.budget_gib)):
                reason = (f"nothing fits in {budget} GiB even at 1 token: "
                          f"{present.smallest(ev1, mask)}")
            else:
                reason = (f"no configuration that fits in {budget} GiB is predicted to meet "
                          f"{want} at any context up to {ceiling} tokens"
                          f"{present.known_until(entry, probe)}")
    ev = (evaluate(entry, found[1], body.task, body.metric, settings.cache_entries) if found
          else probe)
    extra = [] if c.active else [
        "no accuracy constraint given: the answer is the longest context by memory alone"]
    head = present.header(ev, body.weights)
    return CapacityResponse.model_validate({
        **head, "warnings": [*head["warnings"], *extra],  # type: ignore[misc]
        "budget_gib": body.budget_gib, "feasible": found is not None, "reason": reason,
        "recommendation": present.points(ev, [found[0]])[0] if found else None,
        "max_context_tokens": ceiling, "searched": int(mask.sum()),
    })


def memory(entry: ModelEntry, body: MemoryRequest) -> MemoryResponse:
    """The ledger of one configuration, term by term (`models.memory.ledger`)."""
    entry = entry.for_runtime(body.runtime)
    try:
        led = ledger(entry.spec, parse_config(body.config), body.context_tokens,
                     entry.coefficients)
    except ValueError as exc:
        raise InputError(("body", "config"), str(exc)) from None
    terms = [LedgerTerm(term=k, bytes=v, gib=v / GIB, exact=led.exact[k])
             for k, v in led.terms.items()]
    return MemoryResponse(
        model=entry.name, config=body.config, context_tokens=body.context_tokens,
        runtime=entry.runtime,
        coefficients="fitted" if entry.memory_fit is not None else "default",
        terms=terms, transient_peak_bytes=led.transient_peak, transient_phase=led.dominant_phase,
        transient_phases=led.phases, peak_bytes=led.peak_bytes, peak_gib=led.peak_bytes / GIB,
    )

"""`POST /v1/recommend` and `POST /v1/capacity`: one answer under a budget, or a clear refusal.

A refusal is a 200 with `feasible: false` and a `reason` a person can act on.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from models.memory import GIB
from service import answers
from service.capacity import Constraint, search
from service.deps import HeavyDep, RegistryDep, SettingsDep, lookup
from service.engine import Evaluation, evaluate, metric_names, point, warnings
from service.errors import documented
from service.schemas.requests import CapacityRequest, Constraints, RecommendRequest
from service.schemas.responses import CapacityResponse, RecommendResponse

router = APIRouter(prefix="/v1", tags=["plan"])


def _common(ev: Evaluation) -> dict[str, object]:
    task, metric, higher = metric_names(ev)
    return {
        "model": ev.entry.name, "context_tokens": ev.context_tokens, "task": task,
        "metric": metric, "higher_is_better": higher,
        "accuracy_source": "artifact" if ev.accuracy else "none",
        "memory_coefficients": "fitted" if ev.memory_fitted else "default",
        "baseline": point(ev, ev.baseline_row), "warnings": warnings(ev),
    }


def _wanted(body: Constraints) -> str:
    parts = []
    if body.accuracy_floor is not None:
        parts.append(f"accuracy_floor {body.accuracy_floor}")
    if body.max_drop is not None:
        parts.append(f"max_drop {body.max_drop}")
    how = " (judged by the interval's pessimistic end)" if body.conservative else ""
    return " and ".join(parts) + how


@router.post("/recommend", responses=documented(400, 404, 413, 422, 503))
def recommend(
    body: RecommendRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> RecommendResponse:
    entry = lookup(registry, body.model)
    mask = answers.allowed_rows(entry, body, None, settings.max_grid)
    ev = evaluate(entry, body.context_tokens, body.task, body.metric, settings.cache_entries)
    fit_mask = answers.fits(ev, mask, body.budget_gib)
    n_fit = int(fit_mask.sum())
    where = f"in {body.budget_gib:g} GiB at {body.context_tokens} tokens"
    row, reason = None, None
    if n_fit == 0:
        reason = f"nothing fits {where}: {answers.smallest(ev, mask)}"
    elif ev.accuracy is None:
        reason = (f"{n_fit} configurations fit {where}, but {entry.name} has no calibration "
                  "artifact: without predicted accuracy none can be recommended (run "
                  "`kvpareto calibrate` and `kvpareto fit`); POST /v1/frontier lists them")
    else:
        ok, score = answers.satisfied(ev.accuracy, ev.baseline_row, fit_mask,
                                      body.accuracy_floor, body.max_drop, body.conservative)
        if ok.any():
            row = answers.best_row(ev, ok, score)
        else:
            reason = (f"{n_fit} configurations fit {where}, but none is predicted to meet "
                      f"{_wanted(body)}{answers.describe_best(ev, fit_mask)}")
    return RecommendResponse.model_validate({
        **_common(ev), "budget_gib": body.budget_gib, "feasible": row is not None,
        "recommendation": point(ev, row) if row is not None else None, "reason": reason,
        "fitting": n_fit,
    })


@router.post("/capacity", responses=documented(400, 404, 413, 422, 503))
def capacity(
    body: CapacityRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> CapacityResponse:
    entry = lookup(registry, body.model)
    mask = answers.allowed_rows(entry, body, None, settings.max_grid)
    ceiling = body.max_context_tokens or entry.spec.max_positions or 1 << 17
    c = Constraint(body.task, body.metric, body.accuracy_floor, body.max_drop,
                   body.conservative, settings.cache_entries)
    probe = evaluate(entry, ceiling, body.task, body.metric, settings.cache_entries)
    reason, found = None, None
    if c.active and probe.accuracy is None:
        reason = (f"{entry.name} has no calibration artifact: {_wanted(body)} cannot be "
                  "checked; drop the accuracy constraints for a memory-only answer")
    else:
        found = search(entry, mask, int(body.budget_gib * GIB), ceiling, c)
        if found is None:
            ev1 = evaluate(entry, 1, body.task, body.metric, settings.cache_entries)
            if not np.any(answers.fits(ev1, mask, body.budget_gib)):
                reason = (f"nothing fits in {body.budget_gib:g} GiB even at 1 token: "
                          f"{answers.smallest(ev1, mask)}")
            else:
                reason = (f"no configuration that fits in {body.budget_gib:g} GiB is predicted "
                          f"to meet {_wanted(body)} at any context up to {ceiling} tokens")
    ev = evaluate(entry, found[1], body.task, body.metric, settings.cache_entries) if found \
        else probe
    extra = [] if c.active else [
        "no accuracy constraint given: the answer is the longest context by memory alone"]
    common = _common(ev)
    return CapacityResponse.model_validate({
        **common, "warnings": [*warnings(ev), *extra], "budget_gib": body.budget_gib,
        "feasible": found is not None, "reason": reason,
        "recommendation": point(ev, found[0]) if found else None,
        "max_context_tokens": ceiling, "searched": int(mask.sum()),
    })

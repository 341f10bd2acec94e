"""`POST /v1/frontier`: the Pareto-optimal configurations at one context (and budget).

Without a calibration artifact: the memory-only answer, sorted by memory, accuracy null.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import answers
from service.deps import HeavyDep, RegistryDep, SettingsDep, lookup
from service.engine import evaluate, metric_names, point, warnings
from service.errors import documented
from service.registry import Registry
from service.schemas.requests import FrontierRequest
from service.schemas.responses import FrontierResponse
from service.settings import Settings

router = APIRouter(prefix="/v1", tags=["frontier"])


ANSWERS = 256  # serialised answers kept per registry snapshot (a reload starts afresh)


@router.post("/frontier", response_model=FrontierResponse,
             responses=documented(400, 404, 413, 422, 503))
def frontier(
    body: FrontierRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> Response:
    """The same question gets the same bytes: answers are cached per registry snapshot."""
    key = body.model_dump_json()
    content = registry.answers.get(key)
    if content is None:
        content = compute_frontier(body, registry, settings).model_dump_json().encode()
        registry.answers.put(key, content, 0 if body.include_points else ANSWERS)
    return Response(content, media_type="application/json")


def compute_frontier(
    body: FrontierRequest, registry: Registry, settings: Settings
) -> FrontierResponse:
    entry = lookup(registry, body.model)
    mask = answers.allowed_rows(entry, body, body.configs, settings.max_grid)
    ev = evaluate(entry, body.context_tokens, body.task, body.metric, settings.cache_entries)
    fit_mask = answers.fits(ev, mask, body.budget_gib)
    limit = min(body.limit, settings.max_listed)
    rows, dominated, unpredictable, truncated = answers.frontier_rows(
        ev, fit_mask, limit, settings.max_listed)
    task, metric, higher = metric_names(ev)
    return FrontierResponse(
        model=entry.name, context_tokens=body.context_tokens, task=task, metric=metric,
        higher_is_better=higher,
        accuracy_source="artifact" if ev.accuracy else "none",
        memory_coefficients="fitted" if ev.memory_fitted else "default",
        baseline=point(ev, ev.baseline_row), warnings=warnings(ev),
        budget_gib=body.budget_gib, evaluated=int(mask.sum()), fitting=int(fit_mask.sum()),
        unpredictable=unpredictable, dominated=dominated if ev.accuracy else None,
        truncated=truncated, frontier=[point(ev, r) for r in rows],
        points=answers.cloud(ev, mask, fit_mask) if body.include_points else None,
    )

"""`POST /v1/frontier`: the Pareto-optimal configurations at one context (and budget).

Without a calibration artifact: the memory-only answer, sorted by memory, accuracy null.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import respond
from service.cached import cached_answer
from service.deps import HeavyDep, RegistryDep, SettingsDep, lookup
from service.errors import documented
from service.schemas.requests import FrontierRequest
from service.schemas.responses import FrontierResponse

router = APIRouter(prefix="/v1", tags=["frontier"])


@router.post("/frontier", response_model=FrontierResponse,
             responses=documented(400, 404, 413, 422, 503))
def frontier(
    body: FrontierRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> Response:
    """The same question gets the same bytes (`service.cached`); point clouds are not kept."""
    return cached_answer(registry, "frontier", body, lambda: respond.frontier(
        lookup(registry, body.model), body, settings), keep=not body.include_points)

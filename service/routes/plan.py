"""`POST /v1/recommend` and `POST /v1/capacity`: one answer under a budget, or a clear refusal.

A refusal is a 200 with `feasible: false` and a `reason` a person can act on (`service.respond`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import respond
from service.cached import cached_answer
from service.deps import HeavyDep, RegistryDep, SettingsDep, lookup
from service.errors import documented
from service.schemas.requests import CapacityRequest, RecommendRequest
from service.schemas.responses import CapacityResponse, RecommendResponse

router = APIRouter(prefix="/v1", tags=["plan"])


@router.post("/recommend", response_model=RecommendResponse,
             responses=documented(400, 404, 413, 422, 503))
def recommend(
    body: RecommendRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> Response:
    return cached_answer(registry, "recommend", body, lambda: respond.recommend(
        lookup(registry, body.model), body, settings))


@router.post("/capacity", response_model=CapacityResponse,
             responses=documented(400, 404, 413, 422, 503))
def capacity(
    body: CapacityRequest, registry: RegistryDep, settings: SettingsDep, _: HeavyDep
) -> Response:
    return cached_answer(registry, "capacity", body, lambda: respond.capacity(
        lookup(registry, body.model), body, settings))

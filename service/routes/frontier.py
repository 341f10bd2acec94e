"""`POST /v1/frontier`: the Pareto-optimal configurations at one context (and budget).

Without a calibration artifact: the memory-only answer, sorted by memory, accuracy null.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import respond
from service.deps import HeavyDep, RegistryDep, SettingsDep, lookup
from service.errors import documented
from service.schemas.requests import FrontierRequest
from service.schemas.responses import FrontierResponse

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
        answer = respond.frontier(lookup(registry, body.model), body, settings)
        content = answer.model_dump_json().encode()
        registry.answers.put(key, content, 0 if body.include_points else ANSWERS)
    return Response(content, media_type="application/json")

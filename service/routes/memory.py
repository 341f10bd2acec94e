"""`POST /v1/memory`: the ledger of one configuration at one context, term by term.

Exact terms (weights, KV cache) are counted; the rest come from the fitted (or default) formula.
The transient counts once, as its largest phase (`models.memory.PHASES`); every phase's total is
listed too.
"""

from __future__ import annotations

from fastapi import APIRouter

from service import respond
from service.deps import HeavyDep, RegistryDep, lookup
from service.errors import documented
from service.schemas.requests import MemoryRequest
from service.schemas.responses import MemoryResponse

router = APIRouter(prefix="/v1", tags=["memory"])


@router.post("/memory", responses=documented(400, 404, 413, 422, 503))
def memory(body: MemoryRequest, registry: RegistryDep, _: HeavyDep) -> MemoryResponse:
    return respond.memory(lookup(registry, body.model), body)

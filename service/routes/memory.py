"""`POST /v1/memory`: the ledger of one configuration at one context, term by term.

Exact terms (weights, KV cache) are counted; the rest come from the fitted (or default) formula.
The transient counts once, as its largest phase (`models.memory.PHASES`); every phase's total is
listed too.
"""

from __future__ import annotations

from fastapi import APIRouter

from models.memory import GIB, ledger
from models.space import parse_config
from service.deps import HeavyDep, RegistryDep, lookup
from service.errors import InputError, documented
from service.schemas.requests import MemoryRequest
from service.schemas.responses import LedgerTerm, MemoryResponse

router = APIRouter(prefix="/v1", tags=["memory"])


@router.post("/memory", responses=documented(400, 404, 413, 422, 503))
def memory(body: MemoryRequest, registry: RegistryDep, _: HeavyDep) -> MemoryResponse:
    entry = lookup(registry, body.model)
    cal = entry.calibration
    coefficients = cal.coefficients if cal else None
    try:
        led = ledger(entry.spec, parse_config(body.config), body.context_tokens, coefficients)
    except ValueError as exc:
        raise InputError(("body", "config"), str(exc)) from None
    terms = [LedgerTerm(term=k, bytes=v, gib=v / GIB, exact=led.exact[k])
             for k, v in led.terms.items()]
    return MemoryResponse(
        model=entry.name, config=body.config, context_tokens=body.context_tokens,
        coefficients="fitted" if coefficients is not None else "default",
        terms=terms, transient_peak_bytes=led.transient_peak, transient_phase=led.dominant_phase,
        transient_phases=led.phases,
        peak_bytes=led.peak_bytes, peak_gib=led.peak_bytes / GIB,
    )

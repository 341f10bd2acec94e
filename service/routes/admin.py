"""`POST /v1/admin/reload`: reload every artifact atomically (bearer token).

All or nothing: one corrupt or foreign file refuses the reload and the old set keeps serving.
Under several workers the others follow through `service.reload` (within half a second).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request

from models.artifact import ArtifactError
from service.deps import AdminDep, MetricsDep, SettingsDep
from service.errors import documented
from service.registry import load_registry
from service.schemas.responses import ReloadResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/reload", responses=documented(401, 403, 409, 503))
async def reload(
    request: Request, _: AdminDep, settings: SettingsDep, metrics: MetricsDep
) -> ReloadResponse:
    lock: asyncio.Lock = request.app.state.reload_lock
    async with lock:
        try:
            registry = await asyncio.to_thread(load_registry, settings.artifact_dir, True)
        except ArtifactError as exc:
            metrics.reloads.labels("refused").inc()
            detail = f"reload refused, previous artifacts keep serving: {exc}"
            raise HTTPException(409, detail) from None
        request.app.state.registry = registry
        request.app.state.reload_signal.announce()  # the other workers follow
    metrics.reloads.labels("ok").inc()
    metrics.artifacts.set(registry.artifacts_loaded)
    loaded = sorted(n for n, e in registry.models.items() if e.calibration)
    return ReloadResponse(artifacts_loaded=registry.artifacts_loaded, models=loaded)

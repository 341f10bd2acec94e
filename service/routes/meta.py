"""Liveness and Prometheus metrics.

`/healthz` answers from the registry snapshot only; it never touches the disk.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import MetricsDep, RegistryDep
from service.schemas.responses import Health

router = APIRouter(tags=["meta"])


@router.get("/healthz")
async def healthz(registry: RegistryDep) -> Health:
    return Health(status="ok", models=len(registry.models),
                  artifacts_loaded=registry.artifacts_loaded,
                  artifact_errors=len(registry.errors))


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

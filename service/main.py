"""The FastAPI application: settings, artifacts loaded in `lifespan`, middleware, routes.

Run: `uvicorn --factory service.main:create_app --host 0.0.0.0 --port 8000`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from threadpoolctl import threadpool_limits

from service.deps import HeavyGate
from service.errors import Busy, InputError, NotFound
from service.metrics import Metrics
from service.middleware import BodyLimit, Instrument
from service.registry import load_registry
from service.reload import ReloadSignal, default_marker
from service.routes import admin, catalog, frontier, memory, meta, page, plan, validations
from service.settings import Settings

log = logging.getLogger("kvpareto.service")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = await asyncio.to_thread(load_registry, settings.artifact_dir, False)
        for name, why in registry.errors.items():
            log.error("artifact %s refused: %s", name, why)
        app.state.registry = registry
        metrics.artifacts.set(registry.artifacts_loaded)
        # requests already run in parallel threads: a BLAS pool per small matrix product only
        # contends for the same cores (2.5x slower whole-grid ledgers on 2 cores)
        with threadpool_limits(limits=1, user_api="blas"):
            yield

    app = FastAPI(
        title="kvpareto", version="0.1.0", lifespan=lifespan,
        description="Predicted memory-vs-accuracy Pareto frontier of KV-cache quantization, "
        "chunked prefill and AWQ for long-context LLM inference.",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.reload_lock = asyncio.Lock()
    app.state.reload_signal = ReloadSignal(
        settings.reload_marker or default_marker(settings.artifact_dir))
    app.state.heavy = HeavyGate(settings.max_heavy, settings.max_queued, settings.heavy_wait_s)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": [_safe(p) for p in e.get("loc", ())], "msg": _safe(str(e.get("msg", ""))),
             "type": _safe(str(e.get("type", ""))), "input": _safe(e.get("input"))}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503,
                            headers={"Retry-After": str(settings.retry_after_s)})

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        detail = [{"loc": list(exc.loc), "msg": exc.msg, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    for module in (meta, catalog, memory, frontier, plan, validations, admin, page):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(Instrument, metrics=metrics)
    return app


ECHO_CHARS = 200  # echoed input is cut to this many characters


def _safe(value: object, depth: int = 0) -> object:
    """A JSON-encodable copy of echoed input: non-finite numbers and lone surrogates become
    strings, long strings and deep or wide containers are cut."""
    if value is None or isinstance(value, bool | int):
        return value if not isinstance(value, int) or abs(value) < 1 << 63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value[:ECHO_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")
    if depth > 4:
        return "..."
    if isinstance(value, dict):
        return {str(_safe(str(k))): _safe(v, depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, list | tuple):
        return [_safe(v, depth + 1) for v in list(value)[:20]]
    return _safe(repr(value))

"""The FastAPI application: settings, artifacts loaded in `lifespan`, middleware, routes.

Run: `uvicorn --factory service.main:create_app --host 0.0.0.0 --port 8000`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service.errors import InputError, NotFound
from service.metrics import Metrics
from service.middleware import BodyLimit, Instrument
from service.registry import load_registry
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
        yield

    app = FastAPI(
        title="kvpareto", version="0.1.0", lifespan=lifespan,
        description="Predicted memory-vs-accuracy Pareto frontier of KV-cache quantization, "
        "chunked prefill and AWQ for long-context LLM inference.",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.reload_lock = asyncio.Lock()

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

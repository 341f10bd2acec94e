"""Request dependencies as `Annotated` aliases: settings, registry snapshot, model, admin.

A model name is only ever a key of the registry; nothing builds a path from it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from models.artifact import ArtifactError
from service.errors import Busy, NotFound
from service.metrics import Metrics
from service.registry import ModelEntry, Registry, load_registry
from service.reload import ReloadSignal
from service.settings import Settings

log = logging.getLogger("kvpareto.service")

bearer = HTTPBearer(auto_error=False, description="KVPARETO_ADMIN_TOKEN")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry(request: Request) -> Registry:
    """The registry snapshot, reloaded first when another worker announced a reload."""
    app = request.app
    signal: ReloadSignal = app.state.reload_signal
    if signal.changed():
        await follow_reload(app)
    registry: Registry = app.state.registry
    return registry


async def follow_reload(app: Any) -> None:
    """Reload this worker's registry as another worker did; a set that no longer loads cleanly
    is refused here too (the last good one keeps serving)."""
    settings: Settings = app.state.settings
    async with app.state.reload_lock:
        try:
            registry = await asyncio.to_thread(load_registry, settings.artifact_dir, True)
        except ArtifactError as exc:
            log.error("reload announced by another worker refused: %s", exc)
            return
        app.state.registry = registry


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


class HeavyGate:
    """At most `running` heavy requests compute at once (each in a threadpool thread) and at
    most `queued` wait, each for `wait_s` at most; beyond that a 503 with Retry-After at once.
    The waiting is on the event loop, so waiters hold no thread and `/healthz` stays prompt."""

    def __init__(self, running: int, queued: int, wait_s: float) -> None:
        self.slots = asyncio.Semaphore(running)
        self.limit, self.wait_s, self.admitted = running + queued, wait_s, 0

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        if self.admitted >= self.limit:
            raise Busy("busy: too many heavy requests at once; retry after a moment")
        self.admitted += 1
        try:
            try:
                await asyncio.wait_for(self.slots.acquire(), self.wait_s)
            except TimeoutError:
                raise Busy("busy: no compute slot freed in time; retry after a moment") from None
            try:
                yield
            finally:
                self.slots.release()
        finally:
            self.admitted -= 1


async def heavy(request: Request) -> AsyncIterator[None]:
    gate: HeavyGate = request.app.state.heavy
    async with gate.admit():
        yield


HeavyDep = Annotated[None, Depends(heavy)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def lookup(registry: Registry, name: str) -> ModelEntry:
    """The served model of that name, or 404 listing the served names."""
    entry = registry.models.get(name)
    if entry is None:
        why = registry.unsupported.get(name)
        if why:
            raise NotFound(f"model {name!r} is shipped but not served: {why}")
        raise NotFound(f"unknown model {name!r}; served: {', '.join(sorted(registry.models))}")
    return entry


def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    token = settings.admin_token
    if token is None:
        raise HTTPException(503, "admin routes are disabled: set KVPARETO_ADMIN_TOKEN")
    if credentials is None:
        raise HTTPException(401, "bearer token required", {"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(credentials.credentials.encode(),
                                  token.get_secret_value().encode()):
        raise HTTPException(403, "invalid admin token")


AdminDep = Annotated[None, Depends(require_admin)]

"""Request dependencies as `Annotated` aliases: settings, registry snapshot, model, admin.

A model name is only ever a key of the registry; nothing builds a path from it.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import NotFound
from service.metrics import Metrics
from service.registry import ModelEntry, Registry
from service.settings import Settings

bearer = HTTPBearer(auto_error=False, description="KVPARETO_ADMIN_TOKEN")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


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

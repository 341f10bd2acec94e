"""One question to the service's code, asked from the command line, without HTTP: options → the
API's request model → `service.respond` on the one model named → the API's response model.

Only the named model (and its artifact file) is loaded. Input errors become a ValueError of one
line naming the option and what is allowed, which `calibration.cli.app.guarded` prints and exits 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models.specs import shipped_specs
from service import respond
from service.errors import InputError
from service.registry import ModelEntry, load_registry
from service.schemas.requests import CapacityRequest, FrontierRequest, RecommendRequest
from service.schemas.responses import CapacityResponse, FrontierResponse, RecommendResponse
from service.settings import Settings

OPTIONS = {  # request field → the option that sets it
    "model": "--model", "context_tokens": "--context", "budget_gib": "--budget",
    "task": "--task", "metric": "--metric", "weights": "--weights", "k_bits": "--k-bits",
    "v_bits": "--v-bits", "limit": "--limit", "include_points": "--plot",
    "accuracy_floor": "--accuracy-floor", "max_drop": "--max-drop",
    "conservative": "--conservative", "max_context_tokens": "--max-context",
    "runtime": "--runtime",
}

Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=BaseModel)
Answer = FrontierResponse | RecommendResponse | CapacityResponse


def option(loc: tuple[str | int, ...]) -> str:
    """The option behind an error location (`("body", "task")` → `--task`)."""
    names = [str(p) for p in loc if p != "body" and not isinstance(p, int)]
    return OPTIONS.get(names[0], names[0]) if names else ""


def described(field: str) -> str | None:
    """A request field's description (its allowed values); an optional field keeps it on the
    inner type, so the first request model that states it is used."""
    for kind in (FrontierRequest, RecommendRequest, CapacityRequest):
        info = kind.model_fields.get(field)
        if info is not None and info.description:
            return info.description
    return None


def invalid(kind: type[BaseModel], exc: ValidationError) -> str:
    """A request model's validation errors as one line: option, value given, why, allowed."""
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        name = option(err["loc"]) or "request"
        allowed = ", ".join(shipped_specs()) if field == "model" else described(field)
        parts.append(f"{name} {err.get('input')!r}: {err['msg']}"
                     + (f"; allowed: {allowed}" if allowed else ""))
    return "; ".join(parts)


def request(kind: type[Req], fields: dict[str, Any]) -> Req:
    """The request model of `fields`, options not given (None, or an empty list) left out as an
    API client leaves them out; validated by the API's own (strict) rules."""
    body = {k: v for k, v in fields.items() if v is not None and v != []}
    try:
        return kind.model_validate(body)
    except ValidationError as exc:
        raise ValueError(invalid(kind, exc)) from None


def settings_for(artifacts: Path | None) -> Settings:
    """The service's settings (env `KVPARETO_*`), with `--artifacts` as the artifact folder."""
    if artifacts is None:
        return Settings()
    if not artifacts.is_dir():
        raise ValueError(f"--artifacts {str(artifacts)!r} is not a folder; give the folder of "
                         "the per-model artifact JSON files")
    return Settings(artifact_dir=artifacts)


def load(model: str, settings: Settings) -> tuple[ModelEntry, list[str]]:
    """The served entry of `model` alone, and a note for each of its artifacts refused."""
    registry = load_registry(settings.artifact_dir, False, {model})
    entry = registry.models.get(model)
    if entry is None:
        why = registry.unsupported.get(model)
        if why:
            raise ValueError(f"--model {model!r} is shipped but not served: {why}")
        raise ValueError(f"--model {model!r} is not a served model; allowed: "
                         f"{', '.join(shipped_specs())}")
    notes = [f"artifact {name} refused, answering memory-only: {why}"
             for name, why in registry.errors.items()]
    return entry, notes


def ask(
    kind: type[Req], fields: dict[str, Any], artifacts: Path | None,
    answer: Callable[[ModelEntry, Req, Settings], Resp],
) -> tuple[Resp, list[str]]:
    """The response `answer` gives to the request built from `fields`, and load notes."""
    body = request(kind, fields)
    settings = settings_for(artifacts)
    entry, notes = load(str(fields["model"]), settings)  # validated: a well-formed name
    try:
        return answer(entry, body, settings), notes
    except InputError as exc:
        where = option(exc.loc)
        raise ValueError(f"{where}: {exc.msg}" if where else exc.msg) from None


def frontier(fields: dict[str, Any], artifacts: Path | None) -> tuple[FrontierResponse, list[str]]:
    return ask(FrontierRequest, fields, artifacts, respond.frontier)


def recommend(
    fields: dict[str, Any], artifacts: Path | None
) -> tuple[RecommendResponse, list[str]]:
    return ask(RecommendRequest, fields, artifacts, respond.recommend)


def capacity(fields: dict[str, Any], artifacts: Path | None) -> tuple[CapacityResponse, list[str]]:
    return ask(CapacityRequest, fields, artifacts, respond.capacity)


def body(answer: Answer) -> str:
    """The API's response body for this answer: the routes serialise it with pydantic's
    `model_dump_json` (`service.cached`), byte for byte."""
    return answer.model_dump_json()

"""Serialised answers, cached per registry snapshot: the same question gets the same bytes.

Answers are pure functions of the request and the loaded artifacts, so a repeated question
(a dashboard polling one capacity, a page reloaded) costs a lookup; a reload starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Response
from pydantic import BaseModel

from service.registry import Registry

ANSWERS = 256  # serialised answers kept per registry snapshot


def cached_answer(registry: Registry, route: str, body: BaseModel,
                  make: Callable[[], BaseModel], keep: bool = True) -> Response:
    """The JSON of `make()` for this route and body, made once per snapshot (`keep`: cache it;
    large answers such as point clouds are not kept)."""
    key = (route, body.model_dump_json())
    content = registry.answers.get(key)
    if content is None:
        content = make().model_dump_json().encode()
        registry.answers.put(key, content, ANSWERS if keep else 0)
    return Response(content, media_type="application/json")

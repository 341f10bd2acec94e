"""Domain errors raised below the routes and mapped to HTTP answers in one place.

`InputError` becomes a 422 shaped like FastAPI's own validation errors (loc, msg, type).
"""

from __future__ import annotations


class InputError(ValueError):
    """A well-formed request whose values do not apply (e.g. an unknown task): HTTP 422."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


class NotFound(LookupError):
    """An unknown model: HTTP 404."""


class Busy(RuntimeError):
    """Too many heavy requests at once: HTTP 503 with Retry-After."""


DESCRIPTIONS = {
    400: "malformed request (e.g. a body that is not JSON)",
    401: "bearer token required",
    403: "invalid admin token",
    404: "unknown model",
    409: "an artifact was refused; the previous set keeps serving",
    413: "request body too large",
    422: "invalid input: field-level messages (loc, msg, type)",
    503: "busy (Retry-After) or disabled",
}


def documented(*codes: int) -> dict[int | str, dict[str, object]]:
    """`responses=` of a route: each status code it can return, with the error body."""
    from service.schemas.responses import ErrorBody

    return {c: {"model": ErrorBody, "description": DESCRIPTIONS[c]} for c in codes}

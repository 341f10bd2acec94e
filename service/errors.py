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

"""The typer app, its console, and the one error path of every command.

Bad input prints ONE line `error: ...` on stderr and exits 2, never a traceback: commands raise
ValueError (with the problem and the allowed values) from their edge checks, and `guarded`
turns those and the other known input errors into that line; `main` does the same for anything
raised outside a command.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

HELP = (
    "The `kvpareto` command line: memory ledger and grid (torch-free), calibration, fit, "
    "validate.\n\nCommands that run models import torch lazily, so `kvpareto memory` works in "
    "a service-only\ninstall. Bad input prints one clear line and exits 2.\n"
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
console = Console()

# ValueError covers ArtifactError, UnsupportedArchitecture and JSONDecodeError; the OSErrors a
# path that is missing or not ours to write; `input_errors` adds SQLAlchemy's ArgumentError.
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, FileNotFoundError, NotADirectoryError, PermissionError,
)

F = TypeVar("F", bound=Callable[..., Any])


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def describe(exc: BaseException) -> str:
    """The error's message on one line (an OSError as `strerror: path`)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return one_line(f"{exc.strerror}{where}")
    return one_line(str(exc) or type(exc).__name__)


def input_errors() -> tuple[type[BaseException], ...]:
    """INPUT_ERRORS and, once sqlalchemy is loaded, its ArgumentError (a malformed or unknown
    SQLAlchemy URL): a command that never loaded sqlalchemy cannot raise it, so the CLI does not
    import sqlalchemy (0.15 s) only to catch it."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return INPUT_ERRORS if sa_exc is None else (*INPUT_ERRORS, sa_exc.ArgumentError)


def fail(message: str) -> NoReturn:
    """One clear line on stderr, exit status 2."""
    sys.stderr.write(f"error: {one_line(message)}\n")
    raise typer.Exit(2)


def guarded(command: F) -> F:
    """`command` with the known input errors turned into one line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, input_errors()):
                raise
            fail(describe(exc))

    return wrapper  # type: ignore[return-value]


def register(*commands: Callable[..., Any], name: str | None = None) -> None:
    """Add each command under its function's name (or `name`, for a single command)."""
    for command in commands:
        app.command(name=name)(guarded(command))


def run() -> None:
    """Run the app; an input error raised outside a command, and a mistyped option or value
    (click's usage errors), are reported the same way: one line, exit status 2."""
    try:
        code = app(standalone_mode=False, prog_name="kvpareto")
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except typer.exceptions.TyperException as exc:  # click's usage errors, as Typer vendors them
        status = int(getattr(exc, "exit_code", 1))
        if status != 2 or type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(status)
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        sys.stderr.write(f"error: {one_line(exc.format_message())}{where}\n")  # type: ignore[attr-defined]
        sys.exit(2)
    except Exception as exc:
        if not isinstance(exc, input_errors()):
            raise
        sys.stderr.write(f"error: {describe(exc)}\n")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)

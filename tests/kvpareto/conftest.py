"""Fixtures of the CLI-answer tests: the live service on the shipped artifacts (a TestClient),
and the composed `kvpareto` app run in-process by Typer's CliRunner."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from service.main import create_app
from service.settings import Settings


@pytest.fixture(scope="session")
def service() -> Iterator[TestClient]:
    """The service as `make run` serves it: default settings, the shipped artifacts."""
    with TestClient(create_app(Settings())) as client:
        yield client


@pytest.fixture(scope="session")
def kvpareto() -> Callable[..., Result]:
    """`kvpareto ARGS...` in-process (wide console, so no table cell is cut)."""
    from kvpareto.cli import app

    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def one_line_error(result: Result, needle: str) -> None:
    """A refusal: exit 2, one `error: ` line on stderr naming `needle`, no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.fixture
def refused() -> Callable[[Result, str], None]:
    """The check of every CLI refusal (`refused(result, needle)`)."""
    return one_line_error

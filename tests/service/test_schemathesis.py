"""A bounded schemathesis run over every operation of the app's OpenAPI, with all checks.

A few dozen examples per operation (the full run, ≥ 300 each, is `python -m bench.schema`):
no server error, no response off the schema, no undocumented status code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from service.main import create_app
from service.settings import Settings
from service.testing.synthetic import CALIBRATED, write_synthetic

schemathesis = pytest.importorskip("schemathesis")

TOKEN = "schemathesis-admin-token"
EXAMPLES = 25


def _app():
    folder = Path(__import__("tempfile").mkdtemp(prefix="kvpareto-schemathesis-"))
    write_synthetic(folder, CALIBRATED)
    app = create_app(Settings(artifact_dir=folder, validations_dir=folder / "validations",
                              admin_token=TOKEN))
    app.state.schemathesis_folder = folder
    return app


APP = _app()
CONFIG = Path(__file__).resolve().parents[2] / "bench" / "schemathesis.toml"
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", APP, config=schemathesis.config.SchemathesisConfig.from_path(CONFIG))


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    shutil.rmtree(APP.state.schemathesis_folder, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})

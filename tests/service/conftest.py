"""Fixtures of the service tests: a synthetic artifact folder, an app, a TestClient.

The artifact is invented by `service.testing.synthetic` (not a measurement) and fitted by the
real code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.testing.synthetic import CALIBRATED, write_synthetic

TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def artifact_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("artifacts")
    write_synthetic(folder, CALIBRATED)
    return folder


@pytest.fixture
def settings(artifact_source: Path, tmp_path: Path) -> Settings:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    for path in artifact_source.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    return Settings(artifact_dir=folder, validations_dir=tmp_path / "validations",
                    admin_token=TOKEN, max_body_bytes=4096)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def shared_client(artifact_source: Path) -> Iterator[TestClient]:
    """One app for the read-only tests (faster: grids and caches are built once)."""
    s = Settings(artifact_dir=artifact_source, validations_dir=artifact_source / "none")
    with TestClient(create_app(s)) as c:
        yield c

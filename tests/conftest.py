"""Test-wide guards: nothing a test writes lands in the repository's shipped folders."""

import pytest


@pytest.fixture(autouse=True)
def _scratch_outputs(tmp_path_factory, monkeypatch):
    scratch = tmp_path_factory.mktemp("outputs")
    monkeypatch.setenv("KVPARETO_VALIDATIONS_DIR", str(scratch / "validations"))
    monkeypatch.setenv("KVPARETO_DB", str(scratch / "runs.db"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

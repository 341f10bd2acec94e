"""`load_registry(names=...)`: only the named shipped models and their own artifact files, by
the same code as the whole registry (what the CLI's one-model answers load)."""

from __future__ import annotations

import shutil

from models.paths import ARTIFACT_DIR
from service.registry import load_registry


def test_only_the_named_models_and_their_artifacts(tmp_path):
    shutil.copy(ARTIFACT_DIR / "testbed-llama.json", tmp_path / "testbed-llama.json")
    (tmp_path / "testbed-qwen2.json").write_text("{not json")  # not read: not named
    registry = load_registry(tmp_path, True, {"testbed-llama", "Llama-3.1-8B-Instruct", "nope"})
    assert sorted(registry.models) == ["Llama-3.1-8B-Instruct", "testbed-llama"]
    assert registry.models["testbed-llama"].calibration is not None
    assert registry.models["Llama-3.1-8B-Instruct"].calibration is None
    assert registry.errors == {}


def test_a_named_models_bad_artifact_is_recorded(tmp_path):
    (tmp_path / "testbed-llama.json").write_text("{not json")
    registry = load_registry(tmp_path, False, {"testbed-llama"})
    assert registry.models["testbed-llama"].calibration is None
    assert list(registry.errors) == ["testbed-llama.json"]

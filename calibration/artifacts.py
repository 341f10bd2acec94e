"""Where fitted artifacts live, and reading their memory coefficients for the CLI.

The folder is `CalibrationSettings().artifact_dir`: the shipped `models/artifacts/` unless
`KVPARETO_ARTIFACT_DIR` points elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from calibration.settings import CalibrationSettings
from models.artifact import ArtifactError, artifact_path, load_artifact
from models.memory import MemoryCoefficients


def artifact_dir() -> Path:
    return CalibrationSettings().artifact_dir


def fitted_coefficients(model: str) -> MemoryCoefficients | None:
    """The model's fitted memory coefficients, or None when it has no (valid) artifact."""
    try:
        path = artifact_path(artifact_dir(), model)
    except ArtifactError:
        return None
    if not path.is_file():
        return None
    artifact = load_artifact(path)
    return artifact.memory.to_coefficients() if artifact.memory else None

"""Where fitted artifacts live, and reading their memory coefficients for the CLI.

The folder is `CalibrationSettings().artifact_dir`: the shipped `models/artifacts/` unless
`KVPARETO_ARTIFACT_DIR` points elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from calibration.settings import CalibrationSettings
from models.artifact import ArtifactError, artifact_path, load_artifact
from models.memory import DEFAULT_RUNTIME, MemoryCoefficients


def artifact_dir() -> Path:
    return CalibrationSettings().artifact_dir


def fitted_coefficients(model: str, runtime: str = DEFAULT_RUNTIME
                        ) -> MemoryCoefficients | None:
    """The model's memory coefficients fitted on `runtime` (a profile), or None when its
    artifact (if any, and valid) has no fit for that runtime."""
    try:
        path = artifact_path(artifact_dir(), model)
    except ArtifactError:
        return None
    if not path.is_file():
        return None
    artifact = load_artifact(path)
    fit = artifact.memory if runtime == DEFAULT_RUNTIME else artifact.memory_profiles.get(runtime)
    return fit.to_coefficients() if fit else None

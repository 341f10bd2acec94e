"""Where fitted artifacts live, and reading their memory coefficients for the CLI.

The shipped folder is `models/artifacts/`; `KVPARETO_ARTIFACT_DIR` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from models.artifact import ArtifactError, artifact_path, load_artifact
from models.memory import MemoryCoefficients

SHIPPED_ARTIFACTS = Path(__file__).resolve().parent.parent / "models" / "artifacts"


def artifact_dir() -> Path:
    return Path(os.environ.get("KVPARETO_ARTIFACT_DIR", SHIPPED_ARTIFACTS))


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

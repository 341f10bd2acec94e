"""Calibration settings from the environment (prefix ``KVPARETO_``): store URL and output folders.

Paths are relative to the working directory unless absolute; a bare file path is a SQLite store.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.paths import ARTIFACT_DIR, VALIDATIONS_DIR

REPO = Path(__file__).resolve().parent.parent


class CalibrationSettings(BaseSettings):
    """Where runs, artifacts and validation reports go."""

    model_config = SettingsConfigDict(env_prefix="KVPARETO_", extra="ignore")

    db: str = Field("runs/kvpareto.db", description="SQLAlchemy URL or a SQLite file path")
    artifact_dir: Path = Field(ARTIFACT_DIR, description="fitted artifacts")
    validations_dir: Path = Field(VALIDATIONS_DIR, description="validation reports + plots")
    model_cache: Path = Field(
        Path("runs/models"), description="folders converted from GGUF files given as --model"
    )
    real_models_dir: Path = Field(
        REPO / "models" / "real", description="`make real-models`: downloads and folders"
    )


def database_url(db: str | None = None) -> str:
    """A SQLAlchemy URL: URLs pass through, a file path becomes ``sqlite:///<path>``."""
    value = db or CalibrationSettings().db
    if "://" in value:
        return value
    path = Path(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"

"""Service settings, read from the environment with the prefix ``KVPARETO_``.

Paths default to the folders inside the installed `models` package, so a wheel just works.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.paths import ARTIFACT_DIR, VALIDATIONS_DIR


class Settings(BaseSettings):
    """All knobs of the service; `KVPARETO_ADMIN_TOKEN` unset disables the admin routes."""

    model_config = SettingsConfigDict(env_prefix="KVPARETO_", extra="ignore")

    artifact_dir: Path = Field(
        default=ARTIFACT_DIR, description="per-model artifact JSON"
    )
    validations_dir: Path = Field(
        default=VALIDATIONS_DIR,
        description="reports from `kvpareto validate`",
    )
    admin_token: SecretStr | None = Field(default=None, description="bearer token of /v1/admin")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="larger bodies get 413")
    max_grid: int = Field(default=20_000, ge=1, description="most configurations per request")
    cache_entries: int = Field(default=64, ge=0, description="cached ledgers/predictions/model")
    max_heavy: int = Field(default=1, ge=1, description="heavy requests a worker computes at "
                           "once, the rest wait in order (503 with Retry-After beyond the queue)")
    max_queued: int = Field(default=64, ge=0, description="heavy requests waiting for a slot")
    heavy_wait_s: float = Field(default=10.0, gt=0, description="longest wait for a slot")
    retry_after_s: int = Field(default=1, ge=0, description="Retry-After of a busy 503")
    max_reports: int = Field(default=10_000, ge=1, description="most validation reports read")
    reload_marker: Path | None = Field(default=None, description="file through which an admin "
                                       "reload reaches every worker (default: one per server in "
                                       "the temp folder)")
    max_listed: int = Field(default=2_000, ge=1, description="most configurations in one answer")

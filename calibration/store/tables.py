"""The results store's tables as typed SQLAlchemy 2 ORM classes.

models, runs (unique on the idempotent key), artifacts and validation reports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(Text, default="")
    config_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(default=_now)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint(
            "model_id", "config", "context_tokens", "task", "seed", "n", "device", name="run_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    config: Mapped[str] = mapped_column(String(64))
    context_tokens: Mapped[int]
    task: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int]
    n: Mapped[int]
    device: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    peak_bytes: Mapped[int | None]
    weights_bytes: Mapped[int | None]
    cache_bytes: Mapped[int | None]
    transient_bytes: Mapped[int | None]
    phase_bytes: Mapped[dict[str, Any] | None]  # probe peak per forward phase (weights incl.)
    exact_match: Mapped[float | None]
    exact_match_lower: Mapped[float | None]
    exact_match_upper: Mapped[float | None]
    top1: Mapped[float | None]
    kl: Mapped[float | None]
    answer_nll: Mapped[float | None]
    k_error: Mapped[float | None]
    v_error: Mapped[float | None]
    seconds: Mapped[float | None]
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=_now)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=_now)


class ValidationRow(Base):
    __tablename__ = "validation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    task: Mapped[str] = mapped_column(String(64))
    context_tokens: Mapped[int]
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(default=_now)


class KVErrorRow(Base):
    """Relative K/V reconstruction error of one scheme side (`models.space.KVScheme.side_key`)."""

    __tablename__ = "kv_errors"
    __table_args__ = (UniqueConstraint("model", "device", "side", name="kv_error_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    device: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(32))
    error: Mapped[float]
    created: Mapped[datetime] = mapped_column(default=_now)


class WeightsKLRow(Base):
    """What quantized weights alone do to the answers: KL vs the 16-bit weights, both with a
    16-bit cache, on one prompt set (`calibration.harness.weights_kl`). Runs' `kl` is measured
    against their own weights, so the two add up to the KL vs the 16-bit model."""

    __tablename__ = "weights_kl"
    __table_args__ = (UniqueConstraint("model", "device", "weights", "task", "context_tokens",
                                       "seed", "n", name="weights_kl_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    device: Mapped[str] = mapped_column(String(16))
    weights: Mapped[str] = mapped_column(String(16))
    task: Mapped[str] = mapped_column(String(64))
    context_tokens: Mapped[int]
    seed: Mapped[int]
    n: Mapped[int]
    kl: Mapped[float]
    kl_sd: Mapped[float | None]  # standard deviation over the n prompts (None: not recorded)
    created: Mapped[datetime] = mapped_column(default=_now)

"""Validation reports written by `kvpareto validate`: predicted vs measured per frontier point."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from models.artifact.bounds import SCHEMA_VERSION
from models.artifact.schema import StrictRecord


class ValidationPoint(StrictRecord):
    config: str
    predicted_peak_bytes: int
    measured_peak_bytes: int | None
    predicted_accuracy: float | None
    accuracy_lower: float | None
    accuracy_upper: float | None
    measured_accuracy: float | None
    status: str = "ok"
    error: str | None = None


class ValidationReport(StrictRecord):
    """Predicted vs measured memory and accuracy for re-run frontier points."""

    kind: Literal["kvpareto.validation"] = "kvpareto.validation"
    schema_version: int = SCHEMA_VERSION
    model: str
    task: str
    metric: str
    context_tokens: int
    budget_bytes: int | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    # the artifact whose predictions these are (its created_at; None: written before it was kept)
    artifact_created_at: str | None = None
    # a re-scored report: the measurements of this earlier report, predicted by a later artifact
    # (its points were chosen by the earlier fit)
    rescored_from: str | None = None
    points: list[ValidationPoint]
    memory_median_abs_rel_error: float | None = None
    memory_max_abs_rel_error: float | None = None
    accuracy_mae: float | None = None
    accuracy_coverage: float | None = None
    # the 16-bit model on the same prompts, and the error of predicting it for every point (the
    # trivial predictor): a prompt set far from the anchors shows here, not as the model's error
    baseline_measured: float | None = None
    trivial_mae: float | None = None

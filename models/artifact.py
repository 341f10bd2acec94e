"""The per-model calibration artifact: versioned JSON validated by pydantic, never pickled.

One file per model: the fitted memory coefficients (with residuals), the measured K/V
quantization errors per scheme side, and one accuracy model per (task, metric).
Validation reports written by `kvpareto validate` share this module.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.memory.terms import MemoryCoefficients, coefficient_key_error

SCHEMA_VERSION = 4
# Interval growth per doubling of the context beyond the calibrated range, where a fit cannot
# measure it (one calibrated context); see models.accuracy._with_widening.
EXTRAPOLATION_WIDENING = 0.5
ARTIFACT_KIND = "kvpareto.artifact"
REPORT_KIND = "kvpareto.validation"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Bounds of the numbers an artifact may hold: far beyond any real fit, far below overflow.
MAX_MEMORY_COEF = 1e12  # a transient coefficient (bytes per term unit, or bytes for *.const)
MAX_OVERHEAD_BYTES = 1 << 50  # 1 PiB
MAX_KV_ERROR = 100.0  # relative reconstruction error
MAX_ACCURACY_NUMBER = 1e12  # coefficients (collinear fits run large), knots, baselines, widths
MAX_ARTIFACT_BYTES = 16 << 20  # larger files are refused unread
MAX_REPORT_BYTES = 4 << 20

MemoryCoef = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MEMORY_COEF,
                                    le=MAX_MEMORY_COEF)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ACCURACY_NUMBER,
                                le=MAX_ACCURACY_NUMBER)]
Width = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_ACCURACY_NUMBER)]
KVError = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_KV_ERROR)]
Context = Annotated[int, Field(gt=0, le=1 << 24)]


class ArtifactError(ValueError):
    """An artifact file that is unreadable, corrupt, foreign or of another schema version."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemoryFit(_Strict):
    """Fitted transient coefficients and runtime overhead; residuals are relative errors."""

    runtime: str = Field(description="device and attention implementation, e.g. cpu-sdpa")
    form: Literal["phases"] = Field(
        "phases", description="transient = max over models.memory.PHASES of Σ coefficient·term; "
        "a key is a term (every phase) or phase.term (that phase only)"
    )
    coefficients: dict[str, MemoryCoef]
    overhead_bytes: int = Field(ge=0, le=MAX_OVERHEAD_BYTES)
    contexts: list[Context]
    residuals: list[Number] = Field(default_factory=list)
    n_runs: int = 0

    @field_validator("coefficients")
    @classmethod
    def _known_terms(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            if (why := coefficient_key_error(key)) is not None:
                raise ValueError(why)
        return v

    @field_validator("overhead_bytes", mode="before")
    @classmethod
    def _bounded(cls, v: object) -> object:
        if isinstance(v, int | float) and not isinstance(v, bool) and not (
                0 <= v <= MAX_OVERHEAD_BYTES):
            raise ValueError(f"overhead_bytes must be between 0 and {MAX_OVERHEAD_BYTES}")
        return v

    def to_coefficients(self) -> MemoryCoefficients:
        return MemoryCoefficients(dict(self.coefficients), self.overhead_bytes, fitted=True)


class MetricFit(_Strict):
    """A monotone model over hinge features of the K/V error (see models.accuracy)."""

    task: str
    metric: str
    kind: Literal["accuracy", "loss"]
    feature_names: list[str]
    coef: list[Number]
    knots: dict[str, list[Number]]
    baseline: dict[Context, Number] = Field(
        min_length=1, description="16-bit value per calibrated context")
    interval_q: Width = Field(description="split-conformal half-width at `coverage`")
    coverage: float = Field(0.9, gt=0, lt=1)
    contexts: list[Context] = Field(min_length=1)
    floor: float = Field(1e-5, gt=0, le=MAX_ACCURACY_NUMBER, allow_inf_nan=False)
    n_runs: int = 0
    cv_mae: float | None = Field(default=None, description="cross-validated mean absolute error, "
                                 "in the metric's units (configurations held out whole)")
    # How `coef` makes log10 of the loss (models.accuracy.log_loss); "log_sum" has one more
    # coefficient than features (the V part's intercept).
    form: Literal["linear", "log_sum"] = "linear"
    # Two-stage accuracy: `coef` then predicts log10 of a graded guide metric (KL), and the drop
    # is a monotone (isotonic) function of it through these knots.
    guide: str | None = None
    link_x: list[Number] | None = None
    link_y: list[Number] | None = None
    # ... plus this non-negative combination of the constrained features (the first ones)
    extra_coef: list[Number] | None = None
    # Mondrian conformal: (upper edge of predicted drop, half-width) per bin, ascending.
    interval_bins: list[tuple[Number, Width]] | None = Field(default=None, min_length=1)
    # Prompts per measured run: when set, `interval_q` and the bins' half-widths are in units of
    # the expected error of such a measurement (models.accuracy.error_scale) ...
    samples: int | None = Field(default=None, gt=0)
    # ... whose model part is the change of the prediction over ± this error of stage 1
    # (log10 of the guide; a robust standard deviation of its cross-validated residuals).
    guide_spread: float | None = Field(default=None, ge=0, le=MAX_ACCURACY_NUMBER,
                                       allow_inf_nan=False)
    widening: Width = Field(default=EXTRAPOLATION_WIDENING, description="interval growth per "
                            "doubling of the context beyond the calibrated range (measured)")
    # KL only: what 4-bit weights alone do (KL vs the 16-bit weights, both with a 16-bit cache)
    # per context, measured. Runs' KL is against their own weights; the two add (measured:
    # bench/awq_kl.py), so 4-bit rows are predicted with this added.
    weights_kl: dict[Context, Width] | None = None

    @field_validator("interval_bins")
    @classmethod
    def _ascending(
        cls, v: list[tuple[float, float]] | None
    ) -> list[tuple[float, float]] | None:
        if v is not None and any(b[0] <= a[0] for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("interval_bins: upper edges must be strictly ascending")
        return v


class Artifact(_Strict):
    """Everything the service needs to predict one model's frontier."""

    kind: Literal["kvpareto.artifact"] = "kvpareto.artifact"
    schema_version: int = SCHEMA_VERSION
    model: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    code_version: str = "0.1.0"
    config_json: dict[str, object] = Field(description="the architecture facts of the model")
    memory: MemoryFit | None = None
    kv_error: dict[str, KVError] = Field(
        default_factory=dict, description="relative reconstruction error per scheme side"
    )
    accuracy: dict[str, dict[str, MetricFit]] = Field(default_factory=dict)
    calibrated_contexts: list[Context] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tables(self) -> Artifact:
        if self.accuracy and not self.kv_error:
            raise ValueError("kv_error: empty table, but accuracy models need the K/V errors")
        return self

    @field_validator("model")
    @classmethod
    def _safe(cls, v: str) -> str:
        if not _SAFE_NAME.match(v):
            raise ValueError("model names use letters, digits, '.', '_' and '-' only")
        return v


class ValidationPoint(_Strict):
    config: str
    predicted_peak_bytes: int
    measured_peak_bytes: int | None
    predicted_accuracy: float | None
    accuracy_lower: float | None
    accuracy_upper: float | None
    measured_accuracy: float | None
    status: str = "ok"
    error: str | None = None


class ValidationReport(_Strict):
    """Predicted vs measured memory and accuracy for re-run frontier points."""

    kind: Literal["kvpareto.validation"] = "kvpareto.validation"
    schema_version: int = SCHEMA_VERSION
    model: str
    task: str
    metric: str
    context_tokens: int
    budget_bytes: int | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    points: list[ValidationPoint]
    memory_median_abs_rel_error: float | None = None
    memory_max_abs_rel_error: float | None = None
    accuracy_mae: float | None = None
    accuracy_coverage: float | None = None


def artifact_path(folder: Path, model: str) -> Path:
    if not _SAFE_NAME.match(model):
        raise ArtifactError(f"invalid model name {model!r}")
    return folder / f"{model}.json"


def write_json_atomic(path: Path, document: BaseModel) -> Path:
    """Write through a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(document.model_dump_json(indent=1))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are shared data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_regular(path: Path, max_bytes: int, folder: Path | None = None) -> bytes:
    """The bytes of a regular file inside `folder` (default: its own folder), at most
    `max_bytes`; FIFOs, devices and symlinks out of the folder are refused without blocking."""
    name = path.name
    folder = (folder or path.parent).resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ArtifactError(f"{name}: cannot be read ({type(exc).__name__})") from None
    if not real.is_relative_to(folder):
        raise ArtifactError(f"{name}: refused: a link out of its folder")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"{name}: refused: not a regular file")
        if st.st_size > max_bytes:
            raise ArtifactError(f"{name}: refused: {st.st_size} bytes, the limit is {max_bytes}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ArtifactError(f"{name}: refused: over the limit of {max_bytes} bytes")
    return data


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite number {token}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} overflows")
    return value


def _read(path: Path, kind: str, max_bytes: int) -> dict[str, object]:
    name = path.name
    data = read_regular(path, max_bytes)
    try:
        raw = json.loads(data.decode(), parse_constant=_reject_constant, parse_float=_finite)
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{name}: corrupt JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise ArtifactError(f"{name}: invalid number: {exc}") from None
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        found = raw.get("kind") if isinstance(raw, dict) else type(raw).__name__
        raise ArtifactError(f"{name}: not a {kind} document (kind {found!r})")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(
            f"{name}: schema version {raw.get('schema_version')!r}, this code reads "
            f"{SCHEMA_VERSION}; re-run `kvpareto fit`"
        )
    return raw


def load_artifact(path: Path) -> Artifact:
    """Load and validate one artifact; raise ArtifactError with a clear message otherwise."""
    raw = _read(path, ARTIFACT_KIND, MAX_ARTIFACT_BYTES)
    try:
        return Artifact.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ArtifactError(f"{path.name}: invalid artifact at {where}: {first['msg']}") from None


def load_report(path: Path) -> ValidationReport:
    raw = _read(path, REPORT_KIND, MAX_REPORT_BYTES)
    try:
        return ValidationReport.model_validate(raw)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise ArtifactError(f"{path.name}: invalid validation report: {msg}") from None

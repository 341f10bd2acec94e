"""The per-model artifact: memory coefficients, K/V errors and one accuracy model per
(task, metric), as strict pydantic records."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.artifact.bounds import (
    EXTRAPOLATION_WIDENING,
    MAX_ACCURACY_NUMBER,
    MAX_BOUND_FACTOR,
    MAX_OVERHEAD_BYTES,
    SCHEMA_VERSION,
    Context,
    KVError,
    MemoryCoef,
    Number,
    Width,
)
from models.memory.runtimes import DEFAULT_RUNTIME, PROFILES
from models.memory.terms import MemoryCoefficients, coefficient_key_error
from models.space import AWQ_GROUPS

ShortText = Annotated[str, Field(max_length=64)]
GroupTables = dict[int, dict[int, float]]  # AWQ group size → context → value
Text = Annotated[str, Field(max_length=256)]
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StrictRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemoryFit(StrictRecord):
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
    bound_factor: float = Field(1.0, ge=1.0, le=MAX_BOUND_FACTOR, allow_inf_nan=False,
                                description="measured peak ≤ predicted × this at bound_coverage")
    bound_coverage: float = Field(0.95, gt=0, lt=1)
    fingerprint: dict[ShortText, Text] = Field(
        default_factory=dict, max_length=32,
        description="the runtime the memory runs were measured on (models.runtime)")

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
        return MemoryCoefficients(dict(self.coefficients), self.overhead_bytes, fitted=True,
                                  bound_factor=self.bound_factor)


class MetricFit(StrictRecord):
    """A monotone model over hinge features of the K/V error (see models.accuracy)."""

    task: str
    metric: str
    kind: Literal["accuracy", "loss"]
    feature_names: list[str]
    coef: list[Number]
    knots: dict[str, list[Number]]
    baseline: dict[Context, Number] = Field(
        min_length=1, description="16-bit value per calibrated context (median over prompt sets)")
    # Half-width at `coverage` of a new prompt set's 16-bit value around `baseline`, per context
    # measured on several prompt sets (Student-t over the sets); added in quadrature to every
    # interval, which all lean on the anchor. Absent (older artifacts): one set, no spread.
    baseline_spread: dict[Context, Width] | None = None
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
    # ... or, when set, in units of (the predicted log-odds loss + this): the interval is on the
    # loss in log-odds, ℓ ± q·(ℓ + logit_scale) (models.accuracy.logit_loss_interval)
    logit_scale: float | None = Field(default=None, gt=0, le=MAX_ACCURACY_NUMBER,
                                      allow_inf_nan=False)
    widening: Width = Field(default=EXTRAPOLATION_WIDENING, description="interval growth per "
                            "doubling of the context beyond the calibrated range (measured)")
    # KL only: what 4-bit weights alone do (KL vs the 16-bit weights, both with a 16-bit cache)
    # per context, measured. Runs' KL is against their own weights; the two add (measured:
    # bench/awq_kl.py), so 4-bit rows are predicted with this added.
    weights_kl: dict[Context, Width] | None = None
    # ... per AWQ group size (128 included), where measured: 4-bit rows of a group take its own
    # table (others take group 128's), and the standard error of a prompt set's mean widens
    # their interval (the weights' own KL moves between prompt sets)
    weights_kl_groups: dict[int, dict[Context, Width]] | None = None
    weights_kl_se: dict[int, dict[Context, Width]] | None = None

    @field_validator("weights_kl_groups", "weights_kl_se")
    @classmethod
    def _awq_groups(cls, v: GroupTables | None) -> GroupTables | None:
        if v is not None and any(g not in AWQ_GROUPS for g in v):
            raise ValueError(f"AWQ group sizes are {', '.join(map(str, AWQ_GROUPS))}; got "
                             f"{sorted(v)}")
        return v

    @field_validator("interval_bins")
    @classmethod
    def _ascending(
        cls, v: list[tuple[float, float]] | None
    ) -> list[tuple[float, float]] | None:
        if v is not None and any(b[0] <= a[0] for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("interval_bins: upper edges must be strictly ascending")
        return v


class Artifact(StrictRecord):
    """Everything the service needs to predict one model's frontier."""

    kind: Literal["kvpareto.artifact"] = "kvpareto.artifact"
    schema_version: int = SCHEMA_VERSION
    model: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    code_version: str = "0.1.0"
    config_json: dict[str, object] = Field(description="the architecture facts of the model")
    memory: MemoryFit | None = None
    memory_profiles: dict[str, MemoryFit] = Field(
        default_factory=dict, max_length=16,
        description="memory fits of other runtime profiles (models.memory.runtimes), by name; "
        "`memory` is the default profile's")
    kv_error: dict[str, KVError] = Field(
        default_factory=dict, description="relative reconstruction error per scheme side"
    )
    accuracy: dict[str, dict[str, MetricFit]] = Field(default_factory=dict)
    calibrated_contexts: list[Context] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    # Bits of the weights the accuracy runs used: configurations with other weights get no
    # predicted accuracy (a fit that never saw 4-bit weights cannot say what they do). None
    # (older artifacts): every setting.
    weight_bits: list[Literal[4, 16]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _tables(self) -> Artifact:
        if self.accuracy and not self.kv_error:
            raise ValueError("kv_error: empty table, but accuracy models need the K/V errors")
        return self

    @field_validator("memory_profiles")
    @classmethod
    def _profiles(cls, v: dict[str, MemoryFit]) -> dict[str, MemoryFit]:
        for name in v:
            if name not in PROFILES or name == DEFAULT_RUNTIME:
                raise ValueError(f"memory_profiles: {name!r} is not a runtime profile other "
                                 f"than the default {DEFAULT_RUNTIME!r}; allowed: "
                                 f"{', '.join(p for p in PROFILES if p != DEFAULT_RUNTIME)}")
        return v

    @field_validator("model")
    @classmethod
    def _safe(cls, v: str) -> str:
        if not SAFE_NAME.match(v):
            raise ValueError("model names use letters, digits, '.', '_' and '-' only")
        return v

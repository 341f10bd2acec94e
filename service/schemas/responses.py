"""Response bodies: model catalogue, memory ledger, frontier, recommendation, capacity.

`accuracy_source` says where accuracy came from: "artifact", or "none" (memory-only answer).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.schemas.common import ConfigPoint, RuntimeName

AccuracySource = Literal["artifact", "none"]


class MetricInfo(BaseModel):
    task: str
    metric: str
    kind: Literal["accuracy", "loss"]
    higher_is_better: bool
    coverage: float
    interval_half_width: float
    cv_mae: float | None
    contexts: list[int]
    n_runs: int


class Calibration(BaseModel):
    artifact_file: str
    created_at: str
    schema_version: int
    code_version: str
    calibrated_contexts: list[int]
    tasks: list[str]
    longest_anchor_tokens: dict[str, int] = Field(
        description="per task, the longest context at which the 16-bit model was measured: "
        "past it (or past max_positions) accuracy is null")
    metrics: list[MetricInfo]
    memory_fitted: bool
    memory_runtime: str | None
    memory_profiles: list[str] = Field(
        default_factory=list, description="runtime profiles with a fitted memory model (the "
        "default's is memory_runtime's)")
    memory_fit_max_abs_rel_residual: float | None
    kv_error_keys: int
    predictable_configurations: int
    validation_reports: int
    validation_memory_median_abs_rel_error: float | None = Field(
        description="latest validation report's figure"
    )
    validation_accuracy_mae: float | None
    validation_accuracy_coverage: float | None
    validation_current: bool | None = Field(
        None, description="true: the latest report's predictions are the served artifact's; "
        "false: the model was refit since (`kvpareto rescore`); null: not known or no report")


class ModelInfo(BaseModel):
    name: str
    model_type: str
    parameters: int
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    max_positions: int
    kv_bytes_per_token_16bit: int
    configurations: int
    calibrated: bool
    calibration: Calibration | None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
    unsupported: dict[str, str] = Field(description="shipped specs the ledger cannot size")
    artifact_errors: dict[str, str] = Field(description="artifact files refused at load")
    allowed: dict[str, list[str | int]] = Field(description="allowed filter values")


class LedgerTerm(BaseModel):
    term: str
    bytes: int
    gib: float
    exact: bool = Field(description="counted exactly (true) or from the fitted formula (false)")


class RuntimeInfo(BaseModel):
    name: RuntimeName
    doc: str
    attention: Literal["sdpa", "eager", "flash"]
    logits: Literal["last", "chunk"]
    overhead_bytes: int = Field(description="a constant outside the allocator's counters")
    default: bool


class RuntimesResponse(BaseModel):
    runtimes: list[RuntimeInfo]


class MemoryResponse(BaseModel):
    """peak = weights + kv_cache + transient_peak + runtime_overhead; the `transient.*` terms are
    what each term holds in the phase that makes the transient peak (they sum to it)."""

    model: str
    config: str
    context_tokens: int
    runtime: RuntimeName
    coefficients: Literal["fitted", "default"]
    terms: list[LedgerTerm]
    transient_peak_bytes: int = Field(
        description="max over forward-pass phases of the transient terms live in that phase")
    transient_phase: str = Field(description="the phase that makes the transient peak")
    transient_phases: dict[str, int] = Field(
        default_factory=dict, description="transient bytes live in each forward-pass phase")
    peak_bytes: int
    peak_gib: float


class PointCloud(BaseModel):
    """Every evaluated configuration, as columns (for plots)."""

    config: list[str]
    peak_gib: list[float]
    mean: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    fits: list[bool]


class Answer(BaseModel):
    model: str
    context_tokens: int
    task: str | None
    metric: str | None
    higher_is_better: bool | None
    accuracy_source: AccuracySource
    runtime: RuntimeName = Field(
        description="the runtime profile the memory is for (attention kernel, logits, overhead; "
        "GET /v1/runtimes)")
    memory_coefficients: Literal["fitted", "default"] = Field(
        description="fitted: measured on this runtime profile (memory_runtime says where); "
        "default: its first-principles terms")
    memory_runtime: str | None = Field(
        description="the runtime the memory fit was measured on (device-attention-dtype-kernel "
        "path, or <device>-unrecorded); null with first-principles terms")
    memory_bound_factor: float = Field(
        description="a configuration fits a budget when peak × this is within it: the fit's "
        "95 % upper bound from its residuals (1 with first-principles terms)")
    baseline: ConfigPoint
    warnings: list[str]


class FrontierResponse(Answer):
    budget_gib: float | None
    evaluated: int = Field(description="configurations evaluated after the filters")
    fitting: int = Field(description="of those, within the budget")
    unpredictable: int = Field(description="fitting, but outside the artifact's scope: K/V "
                               "errors it never measured, or weights its runs never used")
    dominated: int | None = Field(description="fitting and predictable but not Pareto-optimal")
    truncated: int = Field(description="memory-only listings beyond `limit`")
    frontier: list[ConfigPoint] = Field(description="by memory ascending")
    points: PointCloud | None = None


class RecommendResponse(Answer):
    budget_gib: float
    feasible: bool
    recommendation: ConfigPoint | None
    reason: str | None
    fitting: int


class CapacityResponse(Answer):
    budget_gib: float
    feasible: bool
    recommendation: ConfigPoint | None = Field(description="the configuration at that context")
    reason: str | None
    max_context_tokens: int = Field(description="the search ceiling")
    searched: int = Field(description="configurations searched")


class ReloadResponse(BaseModel):
    artifacts_loaded: int
    models: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    models: int
    artifacts_loaded: int
    artifact_errors: int


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: object | None = None


class ErrorBody(BaseModel):
    """Every error answer: a sentence, or field-level details (422)."""

    detail: str | list[ErrorDetail]

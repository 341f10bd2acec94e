"""Schema parts shared by requests and responses: names, filters, a point of the frontier.

Bytes are integers; GiB appear only beside them, for people.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.space import ID_FORMAT

ModelName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    Field(description="a served model name (see GET /v1/models)", examples=["Qwen2.5-7B-Instruct"]),
]
ContextTokens = Annotated[int, Field(gt=0, le=1 << 24, strict=True,
                                     description="prompt length in tokens (1 to 16,777,216)")]
BudgetGiB = Annotated[float, Field(gt=0, le=1 << 20, allow_inf_nan=False,
                                   description="memory budget in GiB (above 0, at most 1,048,576)")]
# loose on purpose: models.space.parse_config names what is wrong in a near miss
CONFIG_PATTERN = r"^\s*w(16|4)[A-Za-z0-9-]{0,60}\s*$"
WeightId = Literal["w16", "w4", "w4g64", "w4g32"]
# models.memory.runtimes.PROFILES, spelled out for the schema (a test keeps the two equal)
RuntimeName = Literal["hf-sdpa", "hf-sdpa-full-logits", "hf-eager", "hf-eager-generate", "flash",
                      "flash-cuda"]
KVBits = Literal[16, 8, 4, 2]
ConfigId = Annotated[str, Field(description=f"canonical id: {ID_FORMAT}", max_length=64,
                                pattern=CONFIG_PATTERN)]


class Request(BaseModel):
    """Strict: no bool-to-int or string-to-number coercion, finite numbers only."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class GridFilter(Request):
    """Restrict the evaluated grid; a missing filter allows every value."""

    weights: list[WeightId] | None = Field(None, min_length=1, description="weight settings")
    k_bits: list[KVBits] | None = Field(None, min_length=1, description="allowed key bits")
    v_bits: list[KVBits] | None = Field(None, min_length=1, description="allowed value bits")


class RuntimeChoice(Request):
    runtime: RuntimeName | None = Field(
        None, description="runtime profile of the memory (default hf-sdpa; GET /v1/runtimes): "
        "a profile without a fitted memory model uses first-principles terms, and says so")


class AccuracyChoice(Request):
    task: str | None = Field(None, max_length=64, description="calibrated task (default: first)")
    metric: str | None = Field(None, max_length=64, description="metric of the task")


class MemoryBreakdown(BaseModel):
    weights_bytes: int
    kv_cache_bytes: int
    transient_bytes: int
    overhead_bytes: int
    peak_bytes: int
    peak_gib: float


class Interval(BaseModel):
    mean: float
    lower: float
    upper: float
    coverage: float = Field(description="nominal coverage of [lower, upper]")


class ConfigPoint(BaseModel):
    """One configuration at one context: memory, predicted accuracy, and the comparison with
    the 16-bit baseline ``w16-k16v16-cfull``."""

    config: str
    memory: MemoryBreakdown
    memory_saved_gib: float = Field(description="baseline peak minus this peak")
    memory_saved_fraction: float
    accuracy: Interval | None = Field(description="null when the model has no artifact")
    drop_vs_baseline: float | None = Field(
        description="baseline metric minus this one (positive = worse; loss metrics reversed)"
    )
    extrapolated: bool = Field(description="context outside the calibrated range")

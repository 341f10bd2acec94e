"""Request bodies of the prediction endpoints (all POST, all JSON).

Configuration ids are parsed at the edge, so a malformed one is a 422 that names the format.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from models.space import parse_config
from service.schemas.common import (
    AccuracyChoice,
    BudgetGiB,
    ConfigId,
    ContextTokens,
    GridFilter,
    ModelName,
    RuntimeChoice,
)


def _canonical(value: str) -> str:
    return parse_config(value).id


class MemoryRequest(RuntimeChoice):
    model: ModelName
    config: ConfigId
    context_tokens: ContextTokens

    @field_validator("config")
    @classmethod
    def _id(cls, value: str) -> str:
        return _canonical(value)


class FrontierRequest(GridFilter, AccuracyChoice, RuntimeChoice):
    model: ModelName
    context_tokens: ContextTokens
    budget_gib: BudgetGiB | None = None
    configs: list[ConfigId] | None = Field(
        None, min_length=1, description="evaluate only these ids (at most the service's max grid)"
    )
    include_points: bool = Field(False, description="also return every evaluated point (plots)")
    limit: int = Field(200, ge=1, le=1 << 20,
                       description="most configurations listed in a memory-only answer")

    @field_validator("configs")
    @classmethod
    def _ids(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_canonical(v) for v in values]


class Constraints(GridFilter, AccuracyChoice, RuntimeChoice):
    accuracy_floor: float | None = Field(
        None, ge=-1e6, le=1e6, description="minimum predicted metric (-1e6 to 1e6; a ceiling "
        "for loss metrics)")
    max_drop: float | None = Field(
        None, ge=0, le=1e6, description="most drop vs the 16-bit baseline (0 to 1e6)")
    conservative: bool = Field(
        False, description="judge the floor and drop by the interval's pessimistic end"
    )


class RecommendRequest(Constraints):
    model: ModelName
    context_tokens: ContextTokens
    budget_gib: BudgetGiB


class CapacityRequest(Constraints):
    model: ModelName
    budget_gib: BudgetGiB
    max_context_tokens: ContextTokens | None = Field(
        None, description="search ceiling (default: the model's max_position_embeddings)"
    )

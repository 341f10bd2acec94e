"""What a fit learns (the estimator's trailing-underscore state, the artifact's numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from models.accuracy.forms import Form
from models.artifact import EXTRAPOLATION_WIDENING


@dataclass(frozen=True)
class Fitted:
    coef: list[float]
    feature_names: list[str]
    baseline: dict[int, float]
    contexts: list[int]
    floor: float
    form: Form
    interval_q: float
    cv_mae: float | None
    n_runs: int
    interval_bins: list[tuple[float, float]] | None = None
    # two-stage accuracy only: the guide's name, the isotonic link, the extra part, the prompts
    # per run and stage 1's typical error
    guide: str | None = None
    link_x: list[float] | None = None
    link_y: list[float] | None = None
    extra_coef: list[float] | None = None
    samples: int | None = None
    guide_spread: float | None = None
    logit_scale: float | None = None
    widening: float = EXTRAPOLATION_WIDENING
    # half-width of a new prompt set's 16-bit value around `baseline` (models.accuracy.problem)
    baseline_spread: dict[int, float] | None = None

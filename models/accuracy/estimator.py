"""The metric model as a scikit-learn-style estimator: hyperparameters in `__init__`, `fit`
returns self with the learned state in trailing-underscore attributes, `predict` is pure, and
the state round-trips through the artifact's `MetricFit`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.accuracy.design import F64, KNOTS, Design, design
from models.accuracy.fitted import Fitted
from models.accuracy.forms import FORMS, Form
from models.accuracy.intervals import MIN_BIN_RUNS, WIDENINGS
from models.accuracy.one_stage import fit_one_stage
from models.accuracy.prediction import Prediction, predict
from models.accuracy.problem import Runs, problem
from models.accuracy.two_stage import fit_two_stage
from models.artifact import MetricFit
from models.space import Config

KINDS = ("accuracy", "loss")


@dataclass(frozen=True)
class Target:
    """What is modelled: a task's metric, its kind (an accuracy drops, a loss grows), the guide
    metric of a two-stage accuracy and the prompts behind each measured accuracy."""

    task: str
    metric: str
    kind: Literal["accuracy", "loss"]
    guide: str = "kl"
    samples: int | None = None


class MetricModel:
    """Log of a metric's loss from monotone hinge features of the K/V errors (see the package).

    form: "log_sum" (K, V and AWQ parts whose losses add; in config-grouped 5-fold CV on the
    testbed runs it beat "linear" on every metric, docs/accuracy.md) or "linear".
    loss_floor: a loss's noise scale; several: the one with the least cross-validated MAE.
    context_slope_min: lower bound of the context slope (dex of loss per doubling): a longer
    context never makes a quantized cache help in expectation; None leaves it free (a free
    slope read catastrophic configurations' ceiling as a decline, docs/accuracy.md).
    widen: measure the interval growth beyond the calibrated range (refit without the longest
    calibrated context and predict it).
    """

    coef_: list[float]
    feature_names_: list[str]
    baseline_: dict[int, float]
    contexts_: list[int]
    floor_: float
    form_: Form
    interval_q_: float
    interval_bins_: list[tuple[float, float]] | None
    cv_mae_: float | None
    n_runs_: int
    guide_: str | None
    link_x_: list[float] | None
    link_y_: list[float] | None
    extra_coef_: list[float] | None
    samples_: int | None
    guide_spread_: float | None
    logit_scale_: float | None
    widening_: float
    weights_kl_: dict[int, float] | None
    baseline_spread_: dict[int, float] | None

    def __init__(self, target: Target, *, form: str = "log_sum",
                 loss_floor: float | Sequence[float] = 1e-5, folds: int = 5,
                 coverage: float = 0.9, seed: int = 0, widen: bool = True,
                 context_slope_min: float | None = 0.0) -> None:
        self.target = target
        self.form = form
        self.loss_floor = loss_floor
        self.folds = folds
        self.coverage = coverage
        self.seed = seed
        self.widen = widen
        self.context_slope_min = context_slope_min

    def with_params(self, **changes: object) -> MetricModel:
        """An unfitted copy with some hyperparameters changed (sklearn's `clone` + `set_params`)."""
        params: dict[str, object] = {
            "form": self.form, "loss_floor": self.loss_floor, "folds": self.folds,
            "coverage": self.coverage, "seed": self.seed, "widen": self.widen,
            "context_slope_min": self.context_slope_min}
        unknown = set(changes) - set(params)
        if unknown:
            raise TypeError(f"unknown hyperparameters {sorted(unknown)}; have {sorted(params)}")
        return MetricModel(self.target, **(params | changes))  # type: ignore[arg-type]

    def fit(self, configs: Sequence[Config], context_tokens: Sequence[int] | NDArray[np.int64],
            values: Sequence[float] | F64, kv_error: dict[str, float],
            guide: Sequence[float] | F64 | None = None,
            seeds: Sequence[int] | NDArray[np.int64] | None = None) -> MetricModel:
        """Fit on measured runs; the interval half-width is cross-fitted conformal.

        With `guide` (a graded metric of the same runs, e.g. KL vs 16-bit) an accuracy is fitted
        in two stages: the features predict log10(guide), and the drop is an isotonic function
        of that prediction. Saturated metrics (exact match on small models) need this: most
        runs lose nothing, and the graded guide tells which ones will.

        `seeds` (each run's prompt seed): a run's drop is against the 16-bit run on its own
        prompts, the anchors are the median over prompt sets and their spread widens intervals."""
        return self._fit(Runs.of(configs, context_tokens, values, kv_error, guide, seeds))

    def _fit(self, runs: Runs) -> MetricModel:
        t = self.target
        if not isinstance(self.loss_floor, int | float):
            floors = [float(f) for f in self.loss_floor]
            if not floors:
                raise ValueError(f"{t.task}/{t.metric}: no loss_floor to choose from")
            errors = [self.with_params(loss_floor=f, widen=False)._fit(runs).cv_mae_ or 0.0
                      for f in floors]
            best = self.with_params(loss_floor=floors[int(np.argmin(errors))])._fit(runs)
            self._learn(best.to_fitted())
            return self
        if t.kind not in KINDS:
            raise ValueError(f"kind must be 'accuracy' or 'loss'; got {t.kind!r}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}; got {self.form!r}")
        # an accuracy without a guide is fitted as its drop: a sum of parts is already linear
        form: Form = "linear" if t.kind == "accuracy" and runs.guide is None else self.form
        floor = float(self.loss_floor)
        p = problem(runs, self.folds, self.seed, f"{t.task}/{t.metric}", self.coverage,
                    t.samples if t.kind == "accuracy" else None)
        if t.kind == "accuracy" and p.guide is not None:
            fitted = dataclasses.replace(fit_two_stage(
                p, p.guide, floor, form, self.context_slope_min, self.coverage, t.samples),
                guide=t.guide)
        else:
            fitted = fit_one_stage(p, t.kind, floor, form, self.context_slope_min,
                                   self.coverage)
        self._learn(fitted)
        if self.widen:
            self.widening_ = self._measured_widening(runs, floor, form)
        return self

    def _measured_widening(self, runs: Runs, floor: float, form: Form) -> float:
        """How much intervals grow per doubling of the context beyond the calibrated range,
        measured: refit without the longest calibrated context, predict it, and keep the least
        growth in `WIDENINGS` that covers it at the nominal rate (the default without data)."""
        if len(self.contexts_) < 2:
            return self.widening_
        longest = max(self.contexts_)
        train = (runs.tokens < longest) | runs.baseline_rows  # the served case has the anchors
        test = ~train
        if test.sum() < MIN_BIN_RUNS:
            return self.widening_
        short = self.with_params(loss_floor=floor, form=form, widen=False)._fit(
            runs.subset(train)).to_fit()
        d = design(runs.subset(test).configs, runs.kv_error)
        y = runs.values[test]
        growth = WIDENINGS[-1]
        for w in WIDENINGS:
            p = predict(short.model_copy(update={"widening": w}), d, runs.tokens[test])
            if np.mean((p.lower <= y) & (y <= p.upper)) >= self.coverage:
                growth = w
                break
        doublings = max(float(np.log2(longest / max(short.contexts))), 1.0)
        return growth / doublings

    def predict(self, d: Design, context_tokens: int | NDArray[np.int64]) -> Prediction:
        """Mean and interval per row of a design at one context (or one per row)."""
        return predict(self.to_fit(), d, context_tokens)

    def _learn(self, f: Fitted) -> None:
        self.coef_, self.feature_names_ = f.coef, f.feature_names
        self.baseline_, self.contexts_ = f.baseline, f.contexts
        self.floor_, self.form_ = f.floor, f.form
        self.interval_q_, self.interval_bins_ = f.interval_q, f.interval_bins
        self.cv_mae_, self.n_runs_ = f.cv_mae, f.n_runs
        self.guide_, self.link_x_, self.link_y_ = f.guide, f.link_x, f.link_y
        self.extra_coef_, self.samples_ = f.extra_coef, f.samples
        self.guide_spread_, self.logit_scale_ = f.guide_spread, f.logit_scale
        self.widening_, self.weights_kl_ = f.widening, None
        self.baseline_spread_ = f.baseline_spread

    def to_fitted(self) -> Fitted:
        if not hasattr(self, "coef_"):
            raise ValueError(f"{self.target.task}/{self.target.metric}: not fitted; call fit")
        return Fitted(
            coef=self.coef_, feature_names=self.feature_names_, baseline=self.baseline_,
            contexts=self.contexts_, floor=self.floor_, form=self.form_,
            interval_q=self.interval_q_, cv_mae=self.cv_mae_, n_runs=self.n_runs_,
            interval_bins=self.interval_bins_, guide=self.guide_, link_x=self.link_x_,
            link_y=self.link_y_, extra_coef=self.extra_coef_, samples=self.samples_,
            guide_spread=self.guide_spread_, widening=self.widening_,
            baseline_spread=self.baseline_spread_, logit_scale=self.logit_scale_)

    def to_fit(self) -> MetricFit:
        """The learned state as the artifact's record (the one place a MetricFit is built)."""
        f = self.to_fitted()
        return MetricFit(
            task=self.target.task, metric=self.target.metric, kind=self.target.kind,
            feature_names=f.feature_names, coef=f.coef, knots={"k": KNOTS, "v": KNOTS},
            baseline=f.baseline, interval_q=f.interval_q, coverage=self.coverage,
            contexts=f.contexts, floor=f.floor, n_runs=f.n_runs, cv_mae=f.cv_mae,
            form=f.form, guide=f.guide, link_x=f.link_x, link_y=f.link_y,
            extra_coef=f.extra_coef, interval_bins=f.interval_bins, samples=f.samples,
            guide_spread=f.guide_spread, widening=f.widening, weights_kl=self.weights_kl_,
            baseline_spread=f.baseline_spread, logit_scale=f.logit_scale)

    @classmethod
    def from_fit(cls, fit: MetricFit) -> MetricModel:
        """A fitted estimator from an artifact's record."""
        model = cls(Target(fit.task, fit.metric, fit.kind, fit.guide or "kl", fit.samples),
                    form=fit.form, loss_floor=fit.floor, coverage=fit.coverage)
        model._learn(Fitted(
            coef=list(fit.coef), feature_names=list(fit.feature_names),
            baseline=dict(fit.baseline), contexts=list(fit.contexts), floor=fit.floor,
            form=fit.form, interval_q=fit.interval_q, cv_mae=fit.cv_mae,
            n_runs=fit.n_runs, interval_bins=fit.interval_bins, guide=fit.guide,
            link_x=fit.link_x, link_y=fit.link_y, extra_coef=fit.extra_coef,
            samples=fit.samples, guide_spread=fit.guide_spread, widening=fit.widening,
            baseline_spread=None if fit.baseline_spread is None else dict(fit.baseline_spread),
            logit_scale=fit.logit_scale))
        model.weights_kl_ = None if fit.weights_kl is None else dict(fit.weights_kl)
        return model

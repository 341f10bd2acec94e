"""Evaluation of one model's whole grid at one context: the entry's ledger and its accuracy.

Everything is vectorised over the grid's rows; evaluations are cached per context. How an
evaluation is shown (points, texts, rounding) is `service.present`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.accuracy import metric_fit, predict
from models.artifact import MetricFit
from models.regime import longest_anchor, unmeasured
from service.errors import InputError
from service.registry import ModelEntry

F64 = NDArray[np.float64]
SHOWN_DECIMALS = 6  # point clouds show accuracy and GiB to this many decimals
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Memory:
    weights: I64
    kv: I64
    transient: I64
    overhead: int
    peak: I64
    bound: I64  # the peak's upper bound at the fit's confidence: what "fits" is judged by


@dataclass(frozen=True, eq=False)
class Accuracy:
    fit: MetricFit
    mean: F64  # NaN on rows the artifact cannot predict
    lower: F64
    upper: F64
    extrapolated: bool
    unknown: str | None = None  # why no accuracy is given at this context (all rows NaN)

    @property
    def higher_is_better(self) -> bool:
        return self.fit.kind == "accuracy"

    @property
    def score(self) -> F64:
        """Larger is better, whatever the metric's direction; at the 6 decimals responses show,
        so a difference no response shows never puts a costlier configuration on the frontier."""
        return np.round(self.mean if self.higher_is_better else -self.mean, SHOWN_DECIMALS)


@dataclass(frozen=True, eq=False)
class Evaluation:
    entry: ModelEntry
    context_tokens: int
    memory: Memory
    accuracy: Accuracy | None

    @property
    def baseline_row(self) -> int:
        return self.entry.grid.baseline_row

    @property
    def memory_fitted(self) -> bool:
        return self.entry.memory_fit is not None


def memory_at(entry: ModelEntry, context_tokens: int, cache_size: int) -> Memory:
    """The grid's ledger (`ModelEntry.ledger`) at one context (cached per context)."""

    def make() -> Memory:
        led = entry.ledger.at(context_tokens)
        return Memory(led.weights, led.kv_cache, led.transient_total, led.overhead, led.peak,
                      led.peak_bound)

    return entry.cache.get_or_make(("memory", context_tokens), cache_size, make)  # type: ignore[return-value]


def choose_metric(entry: ModelEntry, task: str | None, metric: str | None) -> MetricFit | None:
    """The fitted model the request asks for (defaults: first task, its accuracy metric)."""
    cal = entry.calibration
    if cal is None or cal.design is None:
        return None
    task = task or cal.default_task()
    if task is None:
        return None
    if task not in cal.artifact.accuracy:
        raise InputError(("body", "task"), f"{entry.name} has no accuracy model for task "
                         f"{task!r}; calibrated tasks: {', '.join(sorted(cal.artifact.accuracy))}")
    try:
        return metric_fit(cal.artifact, task, metric or cal.default_metric(task))
    except KeyError as exc:
        raise InputError(("body", "metric"), str(exc.args[0])) from None


def accuracy_limit(entry: ModelEntry, fit: MetricFit) -> int:
    """The longest context accuracy is given at: the task's longest 16-bit anchor, never past
    max_position_embeddings (`models.regime.unmeasured` says why)."""
    cal = entry.calibration
    longest = longest_anchor(cal.artifact.accuracy.get(fit.task, {}) if cal else {})
    limit = longest or max(fit.baseline)
    return min(limit, entry.spec.max_positions) if entry.spec.max_positions else limit


def accuracy_at(entry: ModelEntry, fit: MetricFit, context_tokens: int, size: int) -> Accuracy:
    def make() -> Accuracy:
        cal = entry.calibration
        if cal is None or cal.design is None:
            raise InputError(("body", "task"), f"{entry.name} has no accuracy model")
        why = unmeasured(cal.artifact.accuracy.get(fit.task, {}), context_tokens,
                         entry.spec.max_positions)
        if why is not None:  # nothing to predict: every row is unknown at this context
            unknown = np.full(len(entry.grid), np.nan)
            outside = not min(fit.contexts) <= context_tokens <= max(fit.contexts)
            return Accuracy(fit, unknown, unknown, unknown, outside, why)
        classes, of_row = cal.design_classes
        pred = predict(fit, classes, context_tokens)
        cols = []
        for values in (pred.mean, pred.lower, pred.upper):
            col = np.full(len(entry.grid), np.nan)
            col[cal.predictable] = values[of_row]
            cols.append(col)
        return Accuracy(fit, cols[0], cols[1], cols[2], pred.extrapolated)

    key = ("accuracy", fit.task, fit.metric, context_tokens)
    return entry.cache.get_or_make(key, size, make)  # type: ignore[return-value]


def evaluate(
    entry: ModelEntry, context_tokens: int, task: str | None, metric: str | None, size: int
) -> Evaluation:
    fit = choose_metric(entry, task, metric)
    acc = accuracy_at(entry, fit, context_tokens, size) if fit else None
    return Evaluation(entry, context_tokens, memory_at(entry, context_tokens, size), acc)

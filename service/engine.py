"""Evaluation of one model's whole grid at one context: ledger, accuracy, Pareto selection.

Everything is vectorised over the grid's rows; ledgers and predictions are cached per context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.accuracy import metric_fit, predict
from models.artifact import MetricFit
from models.memory import GIB
from models.regime import baseline_shift
from service.errors import InputError
from service.registry import ModelEntry
from service.schemas.common import ConfigPoint, Interval, MemoryBreakdown

F64 = NDArray[np.float64]
SHOWN_DECIMALS = 6  # point clouds show accuracy and GiB to this many decimals
# The harness measures KL against the configuration's own weights with a 16-bit cache
# (calibration.harness.evaluate): an artifact without the weights' own KL (MetricFit.weights_kl)
# does not see AWQ.
KV_ONLY_METRIC = "kl"
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Memory:
    weights: I64
    kv: I64
    transient: I64
    overhead: int
    peak: I64


@dataclass(frozen=True, eq=False)
class Accuracy:
    fit: MetricFit
    mean: F64  # NaN on rows the artifact cannot predict
    lower: F64
    upper: F64
    extrapolated: bool

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
        cal = self.entry.calibration
        return cal is not None and cal.coefficients is not None


def memory_at(entry: ModelEntry, context_tokens: int, cache_size: int) -> Memory:
    """The grid's ledger (`ModelEntry.ledger`) at one context (cached per context)."""

    def make() -> Memory:
        led = entry.ledger.at(context_tokens)
        return Memory(led.weights, led.kv_cache, led.transient_total, led.overhead, led.peak)

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


def accuracy_at(entry: ModelEntry, fit: MetricFit, context_tokens: int, size: int) -> Accuracy:
    def make() -> Accuracy:
        cal = entry.calibration
        if cal is None or cal.design is None:
            raise InputError(("body", "task"), f"{entry.name} has no accuracy model")
        pred = predict(fit, cal.design, context_tokens)
        cols = []
        for values in (pred.mean, pred.lower, pred.upper):
            col = np.full(len(entry.grid), np.nan)
            col[cal.predictable] = values
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


def point(ev: Evaluation, row: int) -> ConfigPoint:
    """One row of an evaluation as an API point, compared with the 16-bit baseline."""
    m, base = ev.memory, ev.baseline_row
    peak, base_peak = int(m.peak[row]), int(m.peak[base])
    interval, drop, extrapolated = None, None, False
    acc = ev.accuracy
    if acc is not None and not np.isnan(acc.mean[row]):
        interval = Interval.model_construct(
            mean=float(acc.mean[row]), lower=float(acc.lower[row]),
            upper=float(acc.upper[row]), coverage=acc.fit.coverage)
        sign = 1.0 if acc.higher_is_better else -1.0
        drop = sign * float(acc.mean[base] - acc.mean[row])
        extrapolated = acc.extrapolated
    # trusted numbers computed here: construct without re-validating (hot path, ~70 per answer)
    return ConfigPoint.model_construct(
        config=ev.entry.grid.ids[row],
        memory=MemoryBreakdown.model_construct(
            weights_bytes=int(m.weights[row]), kv_cache_bytes=int(m.kv[row]),
            transient_bytes=int(m.transient[row]), overhead_bytes=m.overhead,
            peak_bytes=peak, peak_gib=peak / GIB,
        ),
        memory_saved_gib=(base_peak - peak) / GIB,
        memory_saved_fraction=(base_peak - peak) / base_peak if base_peak else 0.0,
        accuracy=interval,
        drop_vs_baseline=drop,
        extrapolated=extrapolated,
    )


def warnings(ev: Evaluation) -> list[str]:
    out = []
    ctx, spec, cal = ev.context_tokens, ev.entry.spec, ev.entry.calibration
    if spec.max_positions and ctx > spec.max_positions:
        out.append(f"context_tokens {ctx} exceeds {spec.name}'s max_position_embeddings "
                   f"{spec.max_positions}")
    if cal is None or cal.coefficients is None:
        out.append("transient and runtime-overhead terms use first-principles defaults: "
                   "no fitted memory artifact for this model")
    elif cal.artifact.memory and cal.artifact.memory.contexts:
        top = max(cal.artifact.memory.contexts)
        if ctx > top:
            out.append(f"memory formula extrapolated: fitted on contexts up to {top} tokens")
    if cal is None or cal.design is None:
        out.append("no accuracy model for this model: memory-only answer, accuracy is null")
    elif ev.accuracy is not None and ev.accuracy.extrapolated:
        ctxs = ev.accuracy.fit.contexts
        out.append(f"accuracy extrapolated: calibrated on contexts {min(ctxs)}..{max(ctxs)}; "
                   "intervals are widened")
        shift = baseline_shift(cal.artifact.accuracy.get(ev.accuracy.fit.task, {}), ctx)
        if shift:
            out.append(shift)
    if (ev.accuracy is not None and ev.accuracy.fit.metric == KV_ONLY_METRIC
            and not ev.accuracy.fit.weights_kl):
        out.append("kl is measured against the same weights with a 16-bit cache: on 4-bit (AWQ) "
                   "configurations it holds the KV cache's damage, not the weights'; compare "
                   "weights by exact_match or answer_nll")
    return out


def metric_names(ev: Evaluation) -> tuple[str | None, str | None, bool | None]:
    acc = ev.accuracy
    if acc is None:
        return None, None, None
    return acc.fit.task, acc.fit.metric, acc.higher_is_better

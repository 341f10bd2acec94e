"""Validation: re-run the predicted frontier for real and report how wrong the prediction was.

Predicts peak (fitted ledger) and accuracy (artifact) over the model's grid at one context, takes
up to `points` frontier configurations (under a memory budget), measures them on held-out seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.executors import Executor
from calibration.store import RunKey, Store
from calibration.store.records import VALIDATION_SEED
from calibration.weights_kl import WeightsProbe, stored_weights_kl
from models.accuracy import Prediction, design, metric_fit, predict, scope_rows
from models.artifact import Artifact, ValidationPoint, ValidationReport
from models.frontier import pareto_indices
from models.memory import compatible, grid_arrays, ledger_grid
from models.space import BASELINE, Config, full_grid, parse_config
from models.specs import ArchSpec, spec_from_config

HELD_OUT_SEED = VALIDATION_SEED  # validation prompts never seen by the calibration runs


def predictable(spec: ArchSpec, artifact: Artifact, configs: Sequence[Config] | None = None
                ) -> list[Config]:
    configs = compatible(spec, list(configs or full_grid()))
    return [configs[i] for i in scope_rows(artifact, configs)]


def _predicted(artifact: Artifact, spec: ArchSpec, grid: Sequence[Config], context_tokens: int,
               task: str, metric: str) -> tuple[np.ndarray, Prediction]:
    """Peak (the fitted ledger) and the accuracy prediction of each row of `grid`."""
    coef = artifact.memory.to_coefficients() if artifact.memory else None
    peak = ledger_grid(spec, grid_arrays(list(grid)), context_tokens, coef).peak
    pred = predict(metric_fit(artifact, task, metric), design(list(grid), artifact.kv_error),
                   context_tokens)
    return peak, pred


def predicted_frontier(
    artifact: Artifact, context_tokens: int, task: str, metric: str,
    budget_bytes: int | None = None, points: int = 8, configs: Sequence[Config] | None = None,
) -> list[tuple[Config, int, float, float, float]]:
    """Up to `points` frontier rows (config, peak, mean, lower, upper), spread along memory."""
    spec = spec_from_config(dict(artifact.config_json), artifact.model)
    grid = predictable(spec, artifact, configs)
    peak, pred = _predicted(artifact, spec, grid, context_tokens, task, metric)
    score = pred.mean if metric_fit(artifact, task, metric).kind == "accuracy" else -pred.mean
    keep = np.ones(len(grid), bool) if budget_bytes is None else peak <= budget_bytes
    if not keep.any():
        raise ValueError(f"no configuration fits in {budget_bytes:,} bytes at "
                         f"{context_tokens} tokens; the smallest needs {int(peak.min()):,}")
    idx = np.flatnonzero(keep)[pareto_indices(peak[keep], score[keep])]
    if len(idx) > points:
        idx = idx[np.unique(np.linspace(0, len(idx) - 1, points).round().astype(int))]
    return [(grid[i], int(peak[i]), float(pred.mean[i]), float(pred.lower[i]),
             float(pred.upper[i])) for i in idx]


@dataclass(frozen=True)
class FrontierQuery:
    """Which predicted frontier to re-run: a task's metric at one context, under a budget."""

    context_tokens: int
    task: str
    metric: str = "exact_match"
    budget_bytes: int | None = None
    points: int = 8


def validate(artifact: Artifact, model_dir: Path, store: Store, executor: Executor,
             query: FrontierQuery, n: int = 16, device: str = "cpu") -> ValidationReport:
    """Re-run the predicted frontier; runs are recorded in the store like any other."""
    context_tokens, task, metric = query.context_tokens, query.task, query.metric
    rows = predicted_frontier(artifact, context_tokens, task, metric, query.budget_bytes,
                              query.points)
    keys = [RunKey(artifact.model, c.id, context_tokens, task, HELD_OUT_SEED, n, device)
            for c, *_ in rows]
    done = dict(store.runs(artifact.model, None, device))
    # the 16-bit model on the same prompts: how far this prompt set sits from the anchors,
    # apart from what the configurations lose (the trivial predictor's error)
    base_key = RunKey(artifact.model, BASELINE.id, context_tokens, task, HELD_OUT_SEED, n, device)
    todo = [k for k in dict.fromkeys([*keys, base_key]) if k not in done]
    for key, m in executor.map(str(model_dir), todo):
        store.record(key, m)
        done[key] = m
    base = done[base_key]
    baseline = getattr(base, metric) if base.status == "ok" else None
    # runs measure KL against their own weights; the artifact's KL adds the 4-bit weights' own
    adds_weights = metric == "kl" and bool(metric_fit(artifact, task, metric).weights_kl)
    pts = []
    for (config, peak, mean, lo, hi), key in zip(rows, keys, strict=True):
        m = done[key]
        value = getattr(m, metric) if m.status == "ok" else None
        if value is not None and adds_weights and config.weights.bits == 4:
            probe = WeightsProbe(config.weights.id, task, context_tokens, key.seed, key.n)
            value += stored_weights_kl(store, artifact.model, model_dir, probe, device)[0]
        pts.append(ValidationPoint(
            config=config.id, predicted_peak_bytes=peak, measured_peak_bytes=m.peak_bytes,
            predicted_accuracy=mean, accuracy_lower=lo, accuracy_upper=hi,
            measured_accuracy=value, status=m.status, error=m.error,
        ))
    return summarize(artifact.model, query, pts, artifact.created_at,
                     None if baseline is None else float(baseline))


def rescore(artifact: Artifact, report: ValidationReport, source: str) -> ValidationReport:
    """`report`'s measurements predicted again by `artifact` (a later fit), no inference: how
    wrong the artifact served now is on points an earlier fit chose."""
    if report.model != artifact.model:
        raise ValueError(f"{source} is a report of {report.model!r}, not {artifact.model!r}")
    spec = spec_from_config(dict(artifact.config_json), artifact.model)
    configs = [parse_config(p.config) for p in report.points]
    served = {c.id for c in predictable(spec, artifact, configs)}
    if missing := [c.id for c in configs if c.id not in served]:
        raise ValueError(f"{artifact.model}'s artifact no longer predicts {', '.join(missing)}")
    peak, pred = _predicted(artifact, spec, configs, report.context_tokens, report.task,
                            report.metric)
    pts = [p.model_copy(update={
        "predicted_peak_bytes": int(peak[i]), "predicted_accuracy": float(pred.mean[i]),
        "accuracy_lower": float(pred.lower[i]), "accuracy_upper": float(pred.upper[i])})
        for i, p in enumerate(report.points)]
    query = FrontierQuery(report.context_tokens, report.task, report.metric,
                          report.budget_bytes, len(pts))
    again = summarize(artifact.model, query, pts, artifact.created_at, report.baseline_measured)
    return again.model_copy(update={"rescored_from": source})


def summarize(model: str, query: FrontierQuery, pts: list[ValidationPoint],
              artifact_created_at: str | None = None,
              baseline: float | None = None) -> ValidationReport:
    mem = [abs(p.predicted_peak_bytes - p.measured_peak_bytes) / p.measured_peak_bytes
           for p in pts if p.measured_peak_bytes]
    acc = [p for p in pts if p.measured_accuracy is not None and p.predicted_accuracy is not None]
    err = [abs(float(p.predicted_accuracy or 0) - float(p.measured_accuracy or 0)) for p in acc]
    inside = [float(p.accuracy_lower or 0) <= float(p.measured_accuracy or 0)
              <= float(p.accuracy_upper or 0) for p in acc]
    return ValidationReport(
        model=model, task=query.task, metric=query.metric, context_tokens=query.context_tokens,
        budget_bytes=query.budget_bytes, points=pts, artifact_created_at=artifact_created_at,
        memory_median_abs_rel_error=float(np.median(mem)) if mem else None,
        memory_max_abs_rel_error=float(np.max(mem)) if mem else None,
        accuracy_mae=float(np.mean(err)) if err else None,
        baseline_measured=baseline,
        trivial_mae=(float(np.mean([abs(baseline - float(p.measured_accuracy or 0)) for p in acc]))
                     if acc and baseline is not None else None),
        accuracy_coverage=float(np.mean(inside)) if inside else None,
    )


def plot(report: ValidationReport, path: Path) -> Path:
    """Predicted (with intervals) vs measured frontier points, as a PNG (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    mib = 1024**2
    pts = report.points
    px = [p.predicted_peak_bytes / mib for p in pts]
    py = [p.predicted_accuracy or 0.0 for p in pts]
    err = [[y - (p.accuracy_lower or y) for p, y in zip(pts, py, strict=True)],
           [(p.accuracy_upper or y) - y for p, y in zip(pts, py, strict=True)]]
    ax.errorbar(px, py, yerr=err, fmt="o-", capsize=3, label="predicted (90% interval)")
    ok = sorted((p for p in pts if p.measured_peak_bytes and p.measured_accuracy is not None),
                key=lambda p: p.measured_peak_bytes or 0)
    ax.plot([(p.measured_peak_bytes or 0) / mib for p in ok],
            [p.measured_accuracy or 0.0 for p in ok], "s--", label="measured (same configurations)")
    ax.set_xlabel("peak memory (MiB)")
    ax.set_ylabel(report.metric)
    ax.set_title(f"{report.model} · {report.task} · {report.context_tokens} tokens")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""Fit a model's artifact from the results store: memory coefficients, accuracy, K/V errors.

Memory: non-negative least squares of the transient terms (plus a free overhead) on measured
peak − exact terms (weights + KV from the ledger). Accuracy: `models.accuracy.fit_metric`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear

from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import fit_metric
from models.artifact import Artifact, MemoryFit, MetricFit
from models.memory import (
    DEFAULT_COEFFICIENTS,
    TRANSIENT_TERMS,
    grid_arrays,
    kv_cache_bytes_grid,
    transient_features,
    weight_bytes_grid,
)
from models.space import Config, parse_config
from models.specs import ArchSpec, spec_from_config

# (store column, kind) of every fitted accuracy metric
METRICS = {"exact_match": "accuracy", "answer_nll": "loss", "kl": "loss"}
MIN_N = 4  # runs with fewer samples (memory-only runs) do not enter the accuracy fit


def exact_bytes(spec: ArchSpec, configs: Sequence[Config], contexts: np.ndarray) -> np.ndarray:
    g = grid_arrays(configs)
    return (weight_bytes_grid(spec, g) + kv_cache_bytes_grid(spec, g, contexts)).astype(float)


class MemoryFitter:
    """peak − exact ≈ Σ c_t·feature_t + overhead, c_t ≥ 0 (sklearn-style)."""

    def __init__(self, spec: ArchSpec, terms: Sequence[str] = TRANSIENT_TERMS) -> None:
        self.spec = spec
        self.terms = tuple(terms)

    def _x(self, configs: Sequence[Config], contexts: np.ndarray) -> np.ndarray:
        feats = transient_features(self.spec, grid_arrays(configs), contexts)
        return np.column_stack([feats[t] for t in self.terms] + [np.ones(len(configs))])

    def fit(self, configs: Sequence[Config], contexts: Sequence[int],
            peaks: Sequence[int]) -> MemoryFitter:
        """Terms constant over the runs (e.g. `logits`) cannot be told from the overhead: they
        keep their default coefficient and the overhead absorbs the rest."""
        ctx = np.asarray(contexts, dtype=np.int64)
        y = np.asarray(peaks, dtype=float) - exact_bytes(self.spec, configs, ctx)
        x = self._x(configs, ctx)
        fixed = np.r_[np.ptp(x[:, :-1], axis=0) == 0, False]
        defaults = np.array([DEFAULT_COEFFICIENTS.get(t, 0.0) for t in self.terms] + [0.0])
        y = y - x[:, fixed] @ defaults[fixed]
        free = x[:, ~fixed]
        scale = np.maximum(np.abs(free).max(0), 1.0)
        lower = np.r_[np.zeros(free.shape[1] - 1), -np.inf]
        sol = defaults.copy()
        sol[~fixed] = lsq_linear(free / scale, y, bounds=(lower, np.inf)).x / scale
        self.coef_ = dict(zip(self.terms, (float(c) for c in sol[:-1]), strict=True))
        self.overhead_ = int(round(sol[-1]))
        self.residuals_ = (self.predict(configs, ctx) - np.asarray(peaks)) / np.asarray(peaks)
        self.contexts_ = sorted({int(c) for c in ctx})
        return self

    def predict(self, configs: Sequence[Config], contexts: Sequence[int] | int) -> np.ndarray:
        ctx = np.broadcast_to(np.asarray(contexts, dtype=np.int64), (len(configs),))
        coef = np.r_[[self.coef_[t] for t in self.terms], self.overhead_]
        return exact_bytes(self.spec, configs, ctx) + self._x(configs, ctx) @ coef

    def to_fit(self, runtime: str) -> MemoryFit:
        return MemoryFit(runtime=runtime, coefficients=self.coef_, overhead_bytes=self.overhead_,
                         contexts=self.contexts_,
                         residuals=[round(float(r), 6) for r in self.residuals_],
                         n_runs=len(self.residuals_))


Runs = list[tuple[RunKey, Measurement]]


def fit_memory(spec: ArchSpec, runs: Runs, max_context: int | None = None) -> MemoryFitter:
    rows = [(k, m) for k, m in runs if m.peak_bytes is not None
            and (max_context is None or k.context_tokens <= max_context)]
    if len(rows) < len(TRANSIENT_TERMS) + 1:
        raise ValueError(f"need at least {len(TRANSIENT_TERMS) + 1} runs with a measured peak "
                         f"to fit memory; have {len(rows)}")
    return MemoryFitter(spec).fit([parse_config(k.config) for k, _ in rows],
                                  [k.context_tokens for k, _ in rows],
                                  [int(m.peak_bytes or 0) for _, m in rows])


def fit_accuracy(runs: Runs, kv_error: dict[str, float], task: str,
                 metrics: dict[str, str] = METRICS) -> dict[str, MetricFit]:
    """One MetricFit per metric for `task` over its accuracy runs (n ≥ MIN_N)."""
    rows = [(k, m) for k, m in runs if k.task == task and k.n >= MIN_N]
    out = {}
    for metric, kind in metrics.items():
        have = [(k, getattr(m, metric)) for k, m in rows if getattr(m, metric) is not None]
        if len(have) < 8:
            continue
        out[metric] = fit_metric(
            task, metric, kind, [parse_config(k.config) for k, _ in have],
            np.array([k.context_tokens for k, _ in have]), np.array([v for _, v in have]),
            kv_error,
        )
    return out


def build_artifact(store: Store, model: str, model_dir: Path, device: str = "cpu",
                   max_memory_context: int | None = None) -> Artifact:
    """The artifact of `model` from every ok run stored for it on `device`."""
    config_json = json.loads((Path(model_dir) / "config.json").read_text())
    spec = spec_from_config(config_json, model)
    runs = [(k, m) for k, m in store.runs(model, "ok", device) if k.seed != VALIDATION_SEED]
    if not runs:
        raise ValueError(f"no successful runs of {model!r} on {device} in the store; "
                         "run `kvpareto calibrate` first")
    kv_error = store.kv_error(model, device)
    if not kv_error:
        raise ValueError(f"no K/V error table for {model!r} on {device}; run calibrate first")
    memory = fit_memory(spec, runs, max_memory_context)
    tasks = sorted({k.task for k, _ in runs})
    accuracy = {t: fits for t in tasks if (fits := fit_accuracy(runs, kv_error, t))}
    contexts = sorted({k.context_tokens for k, _ in runs if k.n >= MIN_N})
    return Artifact(
        model=model, config_json=config_json, memory=memory.to_fit(f"{device}-sdpa"),
        kv_error=kv_error, accuracy=accuracy, calibrated_contexts=contexts, tasks=tasks,
    )

"""Fit a model's artifact from the results store: memory coefficients, accuracy, K/V errors.

Memory: the ledger's max-of-phases transient (plus a free overhead) fitted to measured
peak − exact terms (weights + KV from the ledger) by multi-start bounded least squares on the
relative error, coefficients ≥ 0. Accuracy: `models.accuracy.fit_metric`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import fit_metric
from models.artifact import Artifact, MemoryFit, MetricFit
from models.memory import (
    PHASES,
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
    """peak − exact ≈ max_phase Σ_{t ∈ phase} c_t·feature_t + overhead, c_t ≥ 0 (sklearn-style).

    The max makes the problem non-convex: bounded least squares (trust region) on the relative
    error from `starts` random starting points (seeded, so a fit is reproducible), best kept.
    """

    def __init__(self, spec: ArchSpec, terms: Sequence[str] = TRANSIENT_TERMS, starts: int = 12,
                 seed: int = 0) -> None:
        self.spec = spec
        self.terms = tuple(terms)
        self.starts = starts
        self.seed = seed

    def _features(self, configs: Sequence[Config], contexts: np.ndarray) -> np.ndarray:
        feats = transient_features(self.spec, grid_arrays(configs), contexts)
        return np.vstack([feats[t] for t in self.terms])  # [terms, runs]

    def _transient(self, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
        index = {t: i for i, t in enumerate(self.terms)}
        phases = [sum((coef[index[t]] * x[index[t]] for t in ts if t in index),
                      np.zeros(x.shape[1])) for ts in PHASES.values()]
        return np.max(np.vstack(phases), axis=0)

    def fit(self, configs: Sequence[Config], contexts: Sequence[int],
            peaks: Sequence[int]) -> MemoryFitter:
        ctx = np.asarray(contexts, dtype=np.int64)
        peak = np.asarray(peaks, dtype=float)
        y = peak - exact_bytes(self.spec, configs, ctx)
        x = self._features(configs, ctx)
        n = len(self.terms)
        rng = np.random.default_rng(self.seed)
        lower = np.r_[np.zeros(n), -np.inf]
        scale = np.r_[np.ones(n), 1e5]

        def residual(c: np.ndarray) -> np.ndarray:
            return np.asarray((self._transient(c[:-1], x) + c[-1] - y) / peak)

        best = None
        for _ in range(self.starts):
            c0 = np.r_[rng.uniform(0, 4, n), 0.0]
            r = least_squares(residual, c0, bounds=(lower, np.inf), x_scale=scale)
            if best is None or r.cost < best.cost:
                best = r
        assert best is not None
        self.coef_ = dict(zip(self.terms, (float(c) for c in best.x[:-1]), strict=True))
        self.overhead_ = int(round(best.x[-1]))
        self.residuals_ = (self.predict(configs, ctx) - peak) / peak
        self.contexts_ = sorted({int(c) for c in ctx})
        return self

    def predict(self, configs: Sequence[Config], contexts: Sequence[int] | int) -> np.ndarray:
        ctx = np.broadcast_to(np.asarray(contexts, dtype=np.int64), (len(configs),))
        coef = np.array([self.coef_[t] for t in self.terms])
        transient = self._transient(coef, self._features(configs, ctx))
        return exact_bytes(self.spec, configs, ctx) + transient + self.overhead_

    def to_fit(self, runtime: str) -> MemoryFit:
        return MemoryFit(runtime=runtime, form="phases", coefficients=self.coef_,
                         overhead_bytes=self.overhead_,
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


# log10(value + floor) is the loss target: KL's floor of 0.05 keeps the many near-lossless runs
# from dominating a fit whose error is judged on the raw scale (measured: held-out MAE ratio
# 0.47 vs 0.74 at 2x the calibrated context on testbed-llama kv_retrieval).
LOSS_FLOORS = {"kl": 0.05, "answer_nll": 1e-5, "exact_match": 0.05}  # exact_match: its KL guide


def fit_accuracy(runs: Runs, kv_error: dict[str, float], task: str,
                 metrics: dict[str, str] = METRICS) -> dict[str, MetricFit]:
    """One MetricFit per metric for `task` over its accuracy runs (n ≥ MIN_N)."""
    rows = [(k, m) for k, m in runs if k.task == task and k.n >= MIN_N]
    out = {}
    for metric, kind in metrics.items():
        have = [(k, m) for k, m in rows if getattr(m, metric) is not None
                and (kind != "accuracy" or m.kl is not None)]
        if len(have) < 8:
            continue
        # Exact match saturates on small models: fit it through the graded KL (two stages).
        guide = np.array([m.kl for _, m in have]) if kind == "accuracy" else None
        out[metric] = fit_metric(
            task, metric, kind, [parse_config(k.config) for k, _ in have],
            np.array([k.context_tokens for k, _ in have]),
            np.array([getattr(m, metric) for _, m in have]),
            kv_error, guide=guide, loss_floor=LOSS_FLOORS.get(metric, 1e-5),
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

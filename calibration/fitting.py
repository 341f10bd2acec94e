"""Fit a model's artifact from the results store: memory coefficients, accuracy, K/V errors.

Memory: the ledger's max-of-phases transient (plus a free overhead) fitted to measured
peak − exact terms (weights + KV from the ledger), coefficients ≥ 0. Runs whose probe split the
peak by phase give one linear equation per phase (each phase's own terms against its own
measured peak: a convex fit that pins every term); runs without the split fall back to
multi-start bounded least squares on the max. Both on the relative error.
Accuracy: `models.accuracy.fit_metric`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import fit_metric
from models.artifact import Artifact, MemoryFit, MetricFit
from models.memory import (
    CPU_SDPA_BLOCK,
    DEFAULT_COEFFICIENTS,
    PHASES,
    TRANSIENT_TERMS,
    MemoryCoefficients,
    grid_arrays,
    kv_cache_bytes_grid,
    phase_runs,
    transient_features,
    transient_peak_grid,
    weight_bytes_grid,
)
from models.space import BASELINE, Config, parse_config
from models.specs import ArchSpec, spec_from_config

# (store column, kind) of every fitted accuracy metric
METRICS = {"exact_match": "accuracy", "answer_nll": "loss", "kl": "loss"}
MIN_N = 4  # runs with fewer samples (memory-only runs) do not enter the accuracy fit
MIN_PHASE_RUNS = 8  # runs with a per-phase peak split needed to fit phase by phase
PRIOR_WEIGHT = 0.1  # strength of the pull toward DEFAULT_COEFFICIENTS (see _with_prior)


def exact_bytes(spec: ArchSpec, configs: Sequence[Config], contexts: np.ndarray) -> np.ndarray:
    g = grid_arrays(configs)
    return (weight_bytes_grid(spec, g) + kv_cache_bytes_grid(spec, g, contexts)).astype(float)


class MemoryFitter:
    """peak − exact ≈ max_phase Σ_{t ∈ phase} c·feature_t + overhead, c ≥ 0 (sklearn-style).

    With the probe's per-phase peaks (`phases`), each phase is its own linear non-negative
    least-squares problem: its terms, coefficients "phase.term" and a constant "phase.const",
    against its own measured peak; a term gets what it really holds in that phase (the residual
    stream is ~7 hidden-sized copies between modules, ~1 under the LM head). Without the split,
    one shared coefficient per term against the peak alone: non-convex through the max, so
    bounded least squares from `starts` seeded starting points, best kept.
    """

    def __init__(self, spec: ArchSpec, terms: Sequence[str] = TRANSIENT_TERMS, starts: int = 12,
                 seed: int = 0, fixed: dict[str, float] | None = None,
                 prior: float = PRIOR_WEIGHT) -> None:
        self.spec = spec
        self.prior = prior
        self.fixed = dict(fixed or {})  # term → coefficient known from the runtime, not fitted
        self.terms = tuple(t for t in terms if t not in self.fixed)
        self.starts = starts
        self.seed = seed

    def _features(self, configs: Sequence[Config], contexts: np.ndarray,
                  step: str = "last") -> dict[str, np.ndarray]:
        return transient_features(self.spec, grid_arrays(configs), contexts, step=step)

    def fit(self, configs: Sequence[Config], contexts: Sequence[int], peaks: Sequence[int],
            phases: Sequence[dict[str, int] | None] | None = None) -> MemoryFitter:
        """`phases`: per run, the probe's peak per phase (weights included), or None."""
        ctx = np.asarray(contexts, dtype=np.int64)
        peak = np.asarray(peaks, dtype=float)
        exact = exact_bytes(self.spec, configs, ctx)
        feats = self._features(configs, ctx)
        split = [i for i, p in enumerate(phases or []) if p]
        if len(split) >= MIN_PHASE_RUNS:
            steps = [feats, self._features(configs, ctx, "previous")]
            self.coef_, self.overhead_ = self._fit_phases(steps, exact, peak, phases or [])
        else:
            self.coef_, self.overhead_ = self._fit_max(feats, peak - exact, peak)
        self.residuals_ = (self.predict(configs, ctx) - peak) / peak
        self.contexts_ = sorted({int(c) for c in ctx})
        return self

    def _fit_phases(self, steps: list[dict[str, np.ndarray]], exact: np.ndarray,
                    peak: np.ndarray, phases: Sequence[dict[str, int] | None],
                    rounds: int = 3) -> tuple[dict[str, float], int]:
        """Per phase, linear least squares on that phase's measured peaks. A phase peaks in the
        last prefill chunk or the full one before a remainder: which one is decided by the
        previous round's coefficients (first round: the last chunk)."""
        coef: dict[str, float] = dict(self.fixed)
        for phase, all_names in PHASES.items():
            runs = np.array([i for i, p in enumerate(phases) if p and phase in p], dtype=int)
            names = tuple(t for t in all_names if t in self.terms or t == "const")
            if len(runs) < len(names):
                continue  # a phase that never ran (AWQ unsampled): its terms keep no weight
            w = 1.0 / peak[runs]
            y = np.array([phases[i][phase] for i in runs], dtype=float) - exact[runs]  # type: ignore[index]
            lower = [-np.inf if t == "const" else 0.0 for t in names]
            # per step: the fitted terms' columns, and the bytes of the terms with known weights
            xs = [np.column_stack([f[t][runs] for t in names]) for f in steps]
            ks = [sum((c * f[t][runs] for t, c in self.fixed.items() if t in all_names),
                      np.zeros(len(runs))) for f in steps]
            use = np.zeros(len(runs), dtype=int)  # step index per run
            rows = np.arange(len(runs))
            for _ in range(rounds):
                x, known = np.stack(xs)[use, rows], np.stack(ks)[use, rows]
                a, b = _with_prior(x * w[:, None], (y - known) * w, names, self.prior)
                sol = lsq_linear(a, b, bounds=(lower, np.inf)).x
                pick = np.argmax(np.stack([xi @ sol + ki for xi, ki in zip(xs, ks, strict=True)]),
                                 axis=0)
                if np.array_equal(pick, use):
                    break
                use = pick
            coef |= {f"{phase}.{t}": float(c) for t, c in zip(names, sol, strict=True)}
        return coef, 0

    def _fit_max(self, feats: dict[str, np.ndarray], y: np.ndarray,
                 peak: np.ndarray) -> tuple[dict[str, float], int]:
        terms = [t for t in self.terms if t != "const"]  # the free overhead is the constant
        x = np.vstack([feats[t] for t in terms])
        index = {t: i for i, t in enumerate(terms)}
        n = len(terms)
        rng = np.random.default_rng(self.seed)
        lower = np.r_[np.zeros(n), -np.inf]
        scale = np.r_[np.ones(n), 1e5]

        known = [sum((c * feats[t] for t, c in self.fixed.items() if t in ts),
                     np.zeros(x.shape[1])) for ts in PHASES.values()]
        # the predictor's rule for rows a phase never runs on (models.memory.phase_runs)
        runs = [phase_runs(p, feats) for p in PHASES]

        def transient(c: np.ndarray) -> np.ndarray:
            totals = [sum((c[index[t]] * x[index[t]] for t in ts if t in index), k)
                      for ts, k in zip(PHASES.values(), known, strict=True)]
            totals = [t if r is None else np.where(r, t, 0.0)
                      for t, r in zip(totals, runs, strict=True)]
            return np.max(np.vstack(totals), axis=0)

        def residual(c: np.ndarray) -> np.ndarray:
            return np.asarray((transient(c[:-1]) + c[-1] - y) / peak)

        best = None
        for _ in range(self.starts):
            c0 = np.r_[rng.uniform(0, 4, n), 0.0]
            r = least_squares(residual, c0, bounds=(lower, np.inf), x_scale=scale)
            if best is None or r.cost < best.cost:
                best = r
        assert best is not None
        fitted = dict(zip(terms, (float(c) for c in best.x[:-1]), strict=True))
        return self.fixed | fitted, int(round(best.x[-1]))

    def coefficients(self) -> MemoryCoefficients:
        return MemoryCoefficients(self.coef_, self.overhead_, fitted=True)

    def predict(self, configs: Sequence[Config], contexts: Sequence[int] | int) -> np.ndarray:
        ctx = np.broadcast_to(np.asarray(contexts, dtype=np.int64), (len(configs),))
        g = grid_arrays(configs)
        coef = self.coefficients()
        return (weight_bytes_grid(self.spec, g) + kv_cache_bytes_grid(self.spec, g, ctx)
                + transient_peak_grid(self.spec, g, ctx, coef) + self.overhead_).astype(float)

    def to_fit(self, runtime: str) -> MemoryFit:
        return MemoryFit(runtime=runtime, form="phases", coefficients=self.coef_,
                         overhead_bytes=self.overhead_,
                         contexts=self.contexts_,
                         residuals=[round(float(r), 6) for r in self.residuals_],
                         n_runs=len(self.residuals_))


def _with_prior(x: np.ndarray, y: np.ndarray, names: Sequence[str],
                weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows pulling each coefficient weakly toward its first-principles default: short runs
    leave some directions unpinned (below 512 tokens the dequantized copy, the GQA repeat and a
    constant all grow alike), and there the physics, not the noise, should decide."""
    if weight <= 0:
        return x, y
    scale = weight * np.sqrt(len(y)) * np.sqrt(np.mean(x**2, axis=0))
    keep = [i for i, t in enumerate(names) if t != "const"]
    rows = np.zeros((len(keep), x.shape[1]))
    rows[np.arange(len(keep)), keep] = scale[keep]
    target = np.array([DEFAULT_COEFFICIENTS[names[i]] for i in keep]) * scale[keep]
    return np.vstack([x, rows]), np.r_[y, target]


Runs = list[tuple[RunKey, Measurement]]


def fit_memory(spec: ArchSpec, runs: Runs, max_context: int | None = None) -> MemoryFitter:
    rows = [(k, m) for k, m in runs if m.peak_bytes is not None
            and (max_context is None or k.context_tokens <= max_context)]
    if len(rows) < len(TRANSIENT_TERMS) + 1:
        raise ValueError(f"need at least {len(TRANSIENT_TERMS) + 1} runs with a measured peak "
                         f"to fit memory; have {len(rows)}")
    # runs of one device per fit (build_artifact filters); CPU's attention tile is known
    fixed = {"sdpa_block": CPU_SDPA_BLOCK} if rows[0][0].device == "cpu" else {}
    return MemoryFitter(spec, fixed=fixed).fit([parse_config(k.config) for k, _ in rows],
                                  [k.context_tokens for k, _ in rows],
                                  [int(m.peak_bytes or 0) for _, m in rows],
                                  [m.phase_bytes or None for _, m in rows])


# log10(value − 16-bit value + floor) is the loss target, and the floor the loss's noise scale:
# small enough that real damage stands out, large enough that the many near-lossless runs (and
# runs a little below the 16-bit one) do not dominate a fit judged on the raw scale. Each fit
# keeps the candidate with the least cross-validated MAE (exact match: the floor of its KL guide).
LOSS_FLOORS = {"kl": (0.01, 0.03, 0.1), "answer_nll": (1e-3, 1e-2, 3e-2, 1e-1),
               "exact_match": (0.01, 0.05, 0.2)}


def fit_accuracy(runs: Runs, kv_error: dict[str, float], task: str,
                 metrics: dict[str, str] = METRICS,
                 weights_kl: dict[int, float] | None = None) -> dict[str, MetricFit]:
    """One MetricFit per metric for `task` over its accuracy runs (n ≥ MIN_N). `weights_kl`
    (context → KL of the 4-bit weights alone) goes with the KL fit: runs' KL leaves it out."""
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
            samples=int(np.median([k.n for k, _ in have])) if kind == "accuracy" else None,
        )
    if weights_kl and "kl" in out:
        out["kl"] = out["kl"].model_copy(update={"weights_kl": dict(sorted(weights_kl.items()))})
    return out


def weights_kl_table(store: Store, model: str, device: str, task: str
                     ) -> dict[int, float] | None:
    """Context → KL of the shipped 4-bit weights (AWQ, group 128) alone on `task`, averaged
    over the prompt sets measured; None when none was (`Campaign.weights_kl`)."""
    by_len: dict[int, list[float]] = {}
    for (w, t, L, _, _), kl in store.weights_kl(model, device).items():
        if w == "w4" and t == task:
            by_len.setdefault(L, []).append(kl)
    return {L: float(np.mean(v)) for L, v in sorted(by_len.items())} or None


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
    accuracy = {t: fits for t in tasks if (fits := fit_accuracy(
        runs, kv_error, t, weights_kl=weights_kl_table(store, model, device, t)))}
    contexts = sorted({k.context_tokens for k, _ in runs  # 16-bit anchors are not calibration
                       if k.n >= MIN_N and k.config != BASELINE.id}) or sorted(
        {k.context_tokens for k, _ in runs if k.n >= MIN_N})
    return Artifact(
        model=model, config_json=config_json, memory=memory.to_fit(f"{device}-sdpa"),
        kv_error=kv_error, accuracy=accuracy, calibrated_contexts=contexts, tasks=tasks,
    )

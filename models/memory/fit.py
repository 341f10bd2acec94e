"""Fit the memory coefficients: the ledger's max-of-phases transient (plus a free overhead)
fitted to measured peak − exact terms (weights + KV from the ledger), coefficients ≥ 0.

Runs whose probe split the peak by phase give one linear equation per phase (each phase's own
terms against its own measured peak: a convex fit that pins every term); runs without the split
fall back to multi-start bounded least squares on the max. Both on the relative error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from models.memory.grid import grid_arrays
from models.memory.ledger import GridLedger
from models.memory.runtimes import DEFAULT_RUNTIME, PROFILES
from models.memory.terms import DEFAULT_COEFFICIENTS, PHASES, MemoryCoefficients
from models.memory.transient import phase_runs
from models.space import Config
from models.specs import ArchSpec

if TYPE_CHECKING:  # models.artifact imports models.memory
    from models.artifact import MemoryFit

MIN_PHASE_RUNS = 8  # runs with a per-phase peak split needed to fit phase by phase
PRIOR_WEIGHT = 0.1  # strength of the pull toward DEFAULT_COEFFICIENTS (see _with_prior)
# what a fit sets by default: the terms the default runtime (fused attention, last logits) makes
DEFAULT_TERMS = PROFILES[DEFAULT_RUNTIME].fitted_terms()
BOUND_COVERAGE = 0.95  # confidence of the peak's upper bound ("fits" means fits at this rate)


def exact_bytes(spec: ArchSpec, configs: Sequence[Config], contexts: np.ndarray) -> np.ndarray:
    led = GridLedger(spec, grid_arrays(configs))
    return (led.weights + led.kv_cache(contexts)).astype(float)


class MemoryFitter:
    """peak − exact ≈ max_phase Σ_{t ∈ phase} c·feature_t + overhead, c ≥ 0 (sklearn-style).

    With the probe's per-phase peaks (`phases`), each phase is its own linear non-negative
    least-squares problem: its terms, coefficients "phase.term" and a constant "phase.const",
    against its own measured peak; a term gets what it really holds in that phase (the residual
    stream is ~7 hidden-sized copies between modules, ~1 under the LM head). Without the split,
    one shared coefficient per term against the peak alone: non-convex through the max, so
    bounded least squares from `starts` seeded starting points, best kept.
    """

    def __init__(self, spec: ArchSpec, terms: Sequence[str] = DEFAULT_TERMS, starts: int = 12,
                 seed: int = 0, fixed: dict[str, float] | None = None,
                 prior: float = PRIOR_WEIGHT, defaults: dict[str, float] | None = None) -> None:
        self.spec = spec
        self.terms = terms
        self.starts = starts
        self.seed = seed
        self.fixed = fixed  # term → coefficient known from the runtime, not fitted
        self.prior = prior
        self.defaults = defaults  # the prior's first-principles targets (a runtime's own)

    def _features(self, configs: Sequence[Config], contexts: np.ndarray,
                  step: str = "last") -> dict[str, np.ndarray]:
        return GridLedger(self.spec, grid_arrays(configs)).features(contexts, step)

    def fit(self, configs: Sequence[Config], contexts: Sequence[int], peaks: Sequence[int],
            phases: Sequence[dict[str, int] | None] | None = None,
            cross_validate: bool = True) -> MemoryFitter:
        """`phases`: per run, the probe's peak per phase (weights included), or None.
        `cross_validate`: also predict each run from a fit without its prefill-chunk setting
        (`chunk_residuals_`), what the bound is taken from."""
        self.fixed_ = dict(self.fixed or {})
        self.terms_ = tuple(t for t in self.terms if t not in self.fixed_)
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
        self.chunk_residuals_ = (self._chunk_residuals(configs, ctx, peak, phases)
                                 if cross_validate else np.zeros(0))
        return self

    def _chunk_residuals(self, configs: Sequence[Config], ctx: np.ndarray, peak: np.ndarray,
                         phases: Sequence[dict[str, int] | None] | None) -> np.ndarray:
        """Each run's relative residual from a fit that never saw its chunk setting: the served
        grid holds chunk sizes no calibration ran (in-sample residuals covered 66 of 72 held-out
        peaks, these 69-71; docs/memory.md)."""
        chunk = np.array([-1 if c.chunk is None else c.chunk for c in configs])
        out = np.full(len(configs), np.nan)
        if len(set(chunk.tolist())) < 2:
            return out[:0]
        for value in sorted(set(chunk.tolist())):
            test = chunk == value
            train = [int(i) for i in np.flatnonzero(~test)]
            sub = MemoryFitter(self.spec, self.terms, self.starts, self.seed, self.fixed,
                               self.prior, self.defaults).fit(
                [configs[i] for i in train], ctx[train].tolist(), peak[train].tolist(),
                [phases[i] for i in train] if phases else None, cross_validate=False)
            rows = [int(i) for i in np.flatnonzero(test)]
            pred = sub.predict([configs[i] for i in rows], ctx[rows])
            out[rows] = (pred - peak[rows]) / peak[rows]
        return out

    def _fit_phases(self, steps: list[dict[str, np.ndarray]], exact: np.ndarray,
                    peak: np.ndarray, phases: Sequence[dict[str, int] | None],
                    rounds: int = 3) -> tuple[dict[str, float], int]:
        """Per phase, linear least squares on that phase's measured peaks. A phase peaks in the
        last prefill chunk or the full one before a remainder: which one is decided by the
        previous round's coefficients (first round: the last chunk)."""
        from scipy.optimize import lsq_linear  # fitting only: the ledger needs no solver

        coef: dict[str, float] = dict(self.fixed_)
        for phase, all_names in PHASES.items():
            runs = np.array([i for i, p in enumerate(phases) if p and phase in p], dtype=int)
            names = tuple(t for t in all_names if t in self.terms_ or t == "const")
            if len(runs) < len(names):
                continue  # a phase that never ran (AWQ unsampled): its terms keep no weight
            w = 1.0 / peak[runs]
            y = np.array([phases[i][phase] for i in runs], dtype=float) - exact[runs]
            lower = [-np.inf if t == "const" else 0.0 for t in names]
            # per step: the fitted terms' columns, and the bytes of the terms with known weights
            xs = [np.column_stack([f[t][runs] for t in names]) for f in steps]
            ks = [sum((c * f[t][runs] for t, c in self.fixed_.items() if t in all_names),
                      np.zeros(len(runs))) for f in steps]
            use = np.zeros(len(runs), dtype=int)  # step index per run
            rows = np.arange(len(runs))
            for _ in range(rounds):
                x, known = np.stack(xs)[use, rows], np.stack(ks)[use, rows]
                a, b = _with_prior(x * w[:, None], (y - known) * w, names, self.prior,
                                   self.defaults or DEFAULT_COEFFICIENTS)
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
        from scipy.optimize import least_squares

        terms = [t for t in self.terms_ if t != "const"]  # the free overhead is the constant
        x = np.vstack([feats[t] for t in terms])
        index = {t: i for i, t in enumerate(terms)}
        n = len(terms)
        rng = np.random.default_rng(self.seed)
        lower = np.r_[np.zeros(n), -np.inf]
        scale = np.r_[np.ones(n), 1e5]

        known = [sum((c * feats[t] for t, c in self.fixed_.items() if t in ts),
                     np.zeros(x.shape[1])) for ts in PHASES.values()]
        # the predictor's rule for rows a phase never runs on (models.memory.transient.phase_runs)
        runs = [phase_runs(p, feats) for p in PHASES]

        def transient(c: np.ndarray) -> np.ndarray:
            totals = [sum((c[index[t]] * x[index[t]] for t in ts if t in index), k)
                      for ts, k in zip(PHASES.values(), known, strict=True)]
            totals = [t if r is None else np.where(r, t, 0.0)
                      for t, r in zip(totals, runs, strict=True)]
            return np.asarray(np.max(np.vstack(totals), axis=0))

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
        return self.fixed_ | fitted, int(round(best.x[-1]))

    def coefficients(self) -> MemoryCoefficients:
        return MemoryCoefficients(self.coef_, self.overhead_, fitted=True)

    def predict(self, configs: Sequence[Config],
                contexts: Sequence[int] | int | np.ndarray) -> np.ndarray:
        ctx = np.broadcast_to(np.asarray(contexts, dtype=np.int64), (len(configs),))
        led = GridLedger(self.spec, grid_arrays(configs), self.coefficients())
        return led.at(ctx).peak.astype(float)

    def to_fit(self, runtime: str, fingerprint: dict[str, str] | None = None,
               coverage: float = BOUND_COVERAGE) -> MemoryFit:
        from models.artifact import MemoryFit

        return MemoryFit(runtime=runtime, form="phases", coefficients=self.coef_,
                         overhead_bytes=self.overhead_,
                         contexts=self.contexts_,
                         residuals=[round(float(r), 6) for r in self.residuals_],
                         n_runs=len(self.residuals_),
                         bound_factor=max(bound_factor(self.residuals_, coverage),
                                          bound_factor(self.chunk_residuals_, coverage)),
                         bound_coverage=coverage, fingerprint=dict(fingerprint or {}))


def bound_factor(residuals: Sequence[float] | np.ndarray, coverage: float = BOUND_COVERAGE
                 ) -> float:
    """The least f with measured ≤ f × predicted for a `coverage` share of runs (split-conformal
    rank over the relative residuals (predicted − measured) / measured), never below 1."""
    r = np.asarray(residuals, dtype=np.float64)
    if not len(r):
        return 1.0
    ratio = np.sort(1.0 / (1.0 + r))  # measured / predicted
    rank = min(len(r), int(np.ceil((len(r) + 1) * coverage))) - 1
    return round(max(1.0, float(ratio[rank])), 6)


def _with_prior(x: np.ndarray, y: np.ndarray, names: Sequence[str], weight: float,
                defaults: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Rows pulling each coefficient weakly toward its first-principles default: short runs
    leave some directions unpinned (below 512 tokens the dequantized copy, the GQA repeat and a
    constant all grow alike), and there the physics, not the noise, should decide."""
    if weight <= 0:
        return x, y
    scale = weight * np.sqrt(len(y)) * np.sqrt(np.mean(x**2, axis=0))
    keep = [i for i, t in enumerate(names) if t != "const"]
    rows = np.zeros((len(keep), x.shape[1]))
    rows[np.arange(len(keep)), keep] = scale[keep]
    target = np.array([defaults[names[i]] for i in keep]) * scale[keep]
    return np.vstack([x, rows]), np.r_[y, target]

"""The memory ledger: integer bytes per term, vectorised over a grid of configurations.

    peak = weights + kv_cache(L) + transient_peak(config, L) + runtime_overhead

`weights` and `kv_cache` are exact (they count what a checkpoint and the project's quantized
cache really hold); the transient terms are analytic features whose coefficients a calibration
fit sets (`MemoryCoefficients`), defaults from first principles. Units (GiB) only at the edges.
`GridLedger` owns a grid at one model spec and coefficients, and keeps what is context-free.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.memory import transient as tr
from models.memory.grid import F64, I64, GridArrays, check_compatible, grid_arrays
from models.memory.kv_cache import kv_cache_bytes_grid, kv_constants
from models.memory.terms import PHASES, TRANSIENT_TERMS, MemoryCoefficients
from models.memory.weights import weight_bytes_grid
from models.space import Config
from models.specs import ArchSpec

GIB = 1024**3


class GridLedger:
    """Bytes per term of a grid of configurations at one model spec and coefficients, at any
    context; context-free per-row constants are computed once and kept (`_cache`)."""

    def __init__(self, spec: ArchSpec, grid: GridArrays,
                 coefficients: MemoryCoefficients | None = None) -> None:
        self.spec = spec
        self.grid = grid
        self.coefficients = coefficients or MemoryCoefficients()
        self._cache: dict[str, Any] = {}

    def _kept(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def weights(self) -> I64:
        return self._kept("weights", lambda: weight_bytes_grid(self.spec, self.grid))  # type: ignore[no-any-return]

    def kv_cache(self, context_tokens: int | I64) -> I64:
        sides = self._kept("kv", lambda: kv_constants(self.spec, self.grid))
        return kv_cache_bytes_grid(self.spec, self.grid, context_tokens, sides)

    def features(self, context_tokens: int | I64, step: str = "last") -> dict[str, F64]:
        """`transient.transient_features` of every row (one logit position)."""
        constants = self._kept("transient", lambda: tr.transient_constants(self.spec, self.grid))
        return tr.transient_features(self.spec, self.grid, context_tokens, step=step,
                                     constants=constants)

    def phase_bytes(self, context_tokens: int | I64) -> dict[str, dict[str, I64]]:
        """Bytes of each term live in each phase, per row (phase → term → bytes), in the prefill
        step (`STEPS`) whose largest phase is larger."""
        coef, n = self.coefficients.coefficients, len(self)
        last = tr.step_phases(coef, self.features(context_tokens), n)
        if not tr.has_remainder(self.grid, context_tokens).any():  # "previous" equals "last"
            return last
        prev = tr.step_phases(coef, self.features(context_tokens, "previous"), n)
        take_prev = tr.transient_peak(prev) > tr.transient_peak(last)
        if not take_prev.any():
            return last
        return {p: {t: np.where(take_prev, prev[p][t], v) for t, v in terms.items()}
                for p, terms in last.items()}

    def phase_peaks(self, context_tokens: int | I64) -> dict[str, I64]:
        """Each phase's own peak over the prefill steps (what the probe measures per phase)."""
        coef = self.coefficients.coefficients
        steps = [tr.phase_totals(tr.step_phases(coef, self.features(context_tokens, s),
                                                len(self)))
                 for s in tr.STEPS]
        return {p: np.maximum(steps[0][p], steps[1][p]) for p in PHASES}

    def transient_peak(self, context_tokens: int | I64) -> I64:
        """max over prefill steps and `PHASES` of Σ coefficient·feature, per row (bytes).

        One (phases × terms) @ (terms × rows) product per step, rounded once at the end; the
        per-term breakdown (`phase_bytes`) rounds each term, so its sums may differ from this
        by a few bytes."""
        if np.ndim(context_tokens) == 0 and len(self) > 1:
            # one context: rows of one `peak_classes` class share a peak; a grid of thousands
            # has a few hundred such classes, so compute there and gather
            classes, inverse = self._kept("classes", self._classes)
            if len(classes) < len(self):
                return np.asarray(classes.transient_peak(context_tokens)[inverse],
                                  dtype=np.int64)
        matrix = self._kept("matrix", lambda: tr.phase_matrix(self.coefficients.coefficients))
        steps = tr.STEPS if tr.has_remainder(self.grid, context_tokens).any() else ("last",)
        peak = np.max([tr.matrix_peak(matrix, self.features(context_tokens, s)) for s in steps],
                      axis=0)
        return np.asarray(np.rint(peak), dtype=np.int64)

    def _classes(self) -> tuple[GridLedger, Any]:
        first, inverse = tr.peak_classes(self.grid)
        return GridLedger(self.spec, self.grid.take(first), self.coefficients), inverse

    def at(self, context_tokens: int | I64) -> LedgerGrid:
        """Every term at one context (scalar, or one per row)."""
        return LedgerGrid(
            weights=self.weights,
            kv_cache=self.kv_cache(context_tokens),
            transient_total=self.transient_peak(context_tokens),
            overhead=self.coefficients.overhead_bytes,
            fitted=self.coefficients.fitted,
            bound_factor=self.coefficients.bound_factor,
            source=(self, context_tokens),
        )


@dataclass(frozen=True)
class LedgerGrid:
    """Bytes per term for N configurations at one context (arrays of length N)."""

    weights: I64
    kv_cache: I64
    transient_total: I64  # the transient peak: max over steps and phases
    overhead: int
    fitted: bool
    bound_factor: float = 1.0
    # (ledger, context) `phases` is made from, on first use (the breakdown costs more)
    source: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @functools.cached_property
    def phases(self) -> dict[str, dict[str, I64]]:
        """phase → term → bytes live in it (the step that makes the peak)."""
        led, context = self.source
        return led.phase_bytes(context)  # type: ignore[no-any-return]

    @property
    def peak(self) -> I64:
        return self.weights + self.kv_cache + self.transient_total + self.overhead

    @property
    def peak_bound(self) -> I64:
        """The peak's upper bound at the fit's confidence: what "fits in a budget" is judged by."""
        return np.asarray(np.ceil(self.peak * self.bound_factor), dtype=np.int64)


def ledger_grid(
    spec: ArchSpec,
    g: GridArrays,
    context_tokens: int | I64,
    coefficients: MemoryCoefficients | None = None,
) -> LedgerGrid:
    """`GridLedger(spec, g, coefficients).at(context_tokens)`, for a one-off evaluation."""
    return GridLedger(spec, g, coefficients).at(context_tokens)


@dataclass(frozen=True)
class Ledger:
    """The ledger of one configuration: bytes per term, and which terms are exact.

    The `transient.*` terms are what each term holds in the phase that makes the transient peak
    (`dominant_phase`), each rounded to a byte, so they sum to `transient_peak` within a few
    bytes; `phases` totals every phase.
    """

    terms: dict[str, int]
    exact: dict[str, bool]
    transient_peak: int = 0  # max over phases of the terms live together (rounded once)
    dominant_phase: str = ""  # the phase that makes the transient peak
    phases: dict[str, int] = field(default_factory=dict)

    @property
    def peak_bytes(self) -> int:
        """weights + kv_cache + transient_peak + runtime_overhead."""
        return (self.terms["weights"] + self.terms["kv_cache"] + self.transient_peak
                + self.terms["runtime_overhead"])


def ledger(
    spec: ArchSpec,
    config: Config,
    context_tokens: int,
    coefficients: MemoryCoefficients | None = None,
) -> Ledger:
    """The full ledger for one configuration; raises ValueError on bad input."""
    if context_tokens <= 0:
        raise ValueError(f"context_tokens must be a positive integer; got {context_tokens}")
    check_compatible(spec, config)
    grid = ledger_grid(spec, grid_arrays([config]), context_tokens, coefficients)
    phases = {k: int(v[0]) for k, v in tr.phase_totals(grid.phases).items()}
    dominant = max(phases, key=lambda k: phases[k])
    terms = {"weights": int(grid.weights[0]), "kv_cache": int(grid.kv_cache[0])}
    live = grid.phases[dominant]
    terms |= {f"transient.{k}": int(live[k][0]) if k in live else 0 for k in TRANSIENT_TERMS}
    terms["runtime_overhead"] = grid.overhead
    exact = {k: k in ("weights", "kv_cache") for k in terms}
    return Ledger(terms, exact, int(grid.transient_total[0]), dominant, phases)


def gib(n_bytes: float) -> float:
    return float(n_bytes) / GIB

"""Prototype (not shipped in artifacts): transient peak as the MAX over phases, not a sum.

Proposed change to models.memory, measured by bench/calibration.py: `scores`, `kv_layer` and
`kv_repeat` vanish when the prompt is prefilled in one chunk; a `kv_dequant` term counts the
dequantized copy of each quantized side; transient = max(attention, mlp, awq, logits) phases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import least_squares

from calibration.fitting import exact_bytes
from models.memory import grid_arrays, transient_features
from models.space import Config
from models.specs import ArchSpec

TERMS = ("hidden", "mlp", "scores", "kv_layer", "kv_repeat", "quant_work", "awq_dequant",
         "logits", "kv_dequant")
PHASES = {
    "attention": ("hidden", "kv_layer", "kv_repeat", "scores", "quant_work", "kv_dequant"),
    "mlp": ("hidden", "mlp"),
    # AWQ's dequantized weight coexists with the layer's K/V copies (o_proj after attention)
    "awq": ("hidden", "kv_layer", "kv_repeat", "scores", "awq_dequant"),
    "logits": ("logits",),
}


def phase_features(spec: ArchSpec, configs: Sequence[Config],
                   contexts: np.ndarray) -> dict[str, np.ndarray]:
    g = grid_arrays(configs)
    f = transient_features(spec, g, contexts)
    tokens = np.asarray(contexts, dtype=np.float64)
    single = (g.chunk == 0) | (g.chunk >= contexts)
    for t in ("scores", "kv_layer", "kv_repeat"):
        f[t] = np.where(single, 0.0, f[t])
    sides = (g.k_bits < 16).astype(float) + (g.v_bits < 16)
    f["kv_dequant"] = tokens * spec.kv_dim * 2.0 * sides
    return f


class PhaseMemoryFitter:
    """peak − exact ≈ max_phase Σ c_t·feature_t + overhead, c_t ≥ 0 (multi-start least squares)."""

    def __init__(self, spec: ArchSpec, starts: int = 12, seed: int = 0) -> None:
        self.spec = spec
        self.starts = starts
        self.seed = seed

    def _transient(self, c: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
        coef = dict(zip(TERMS, c[:-1], strict=True))
        phases = [sum(coef[t] * f[t] for t in ts) for ts in PHASES.values()]
        return np.max(np.vstack(phases), axis=0) + c[-1]

    def fit(self, configs: Sequence[Config], contexts: Sequence[int],
            peaks: Sequence[int]) -> PhaseMemoryFitter:
        ctx = np.asarray(contexts, dtype=np.int64)
        peak = np.asarray(peaks, dtype=float)
        y = peak - exact_bytes(self.spec, configs, ctx)
        f = phase_features(self.spec, configs, ctx)
        rng = np.random.default_rng(self.seed)
        lower = np.r_[np.zeros(len(TERMS)), -np.inf]
        scale = np.r_[np.ones(len(TERMS)), 1e5]
        best = None
        for _ in range(self.starts):
            c0 = np.r_[rng.uniform(0, 4, len(TERMS)), 0.0]
            r = least_squares(lambda c: (self._transient(c, f) - y) / peak, c0,
                              bounds=(lower, np.inf), x_scale=scale)
            if best is None or r.cost < best.cost:
                best = r
        assert best is not None
        self.coef_ = best.x
        self.residuals_ = (self._transient(best.x, f) - y) / peak
        return self

    def predict(self, configs: Sequence[Config], contexts: Sequence[int] | int) -> np.ndarray:
        ctx = np.broadcast_to(np.asarray(contexts, dtype=np.int64), (len(configs),))
        f = phase_features(self.spec, configs, ctx)
        return exact_bytes(self.spec, configs, ctx) + self._transient(self.coef_, f)

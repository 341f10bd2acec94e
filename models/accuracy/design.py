"""The accuracy model's inputs: per-configuration K/V errors and the hinge features over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.memory import GridArrays, grid_arrays, quantized_tokens
from models.space import Config

F64 = NDArray[np.float64]
ERROR_FLOOR = 1e-4
KNOTS = [-3.0, -2.5, -2.0, -1.5, -1.0, -0.5]
FREE_FEATURES = ("intercept", "log2_context")


@dataclass(frozen=True)
class Design:
    """Per-grid inputs that do not depend on the context length (computed once per grid)."""

    grid: GridArrays
    k_error: F64
    v_error: F64
    w4: F64

    @property
    def lossless(self) -> NDArray[np.bool_]:
        """Rows that lose nothing to the 16-bit model: 16-bit cache and weights."""
        return np.asarray((self.k_error == 0) & (self.v_error == 0) & (self.w4 == 0))


def design(configs: Sequence[Config], kv_error: dict[str, float]) -> Design:
    def lookup(side: Literal["k", "v"], c: Config) -> float:
        key = c.kv.side_key(side)
        if key is None:
            return 0.0
        if key not in kv_error:
            raise ValueError(f"no measured {side.upper()} error for {key!r} ({c.id})")
        return kv_error[key]

    return Design(
        grid=grid_arrays(configs),
        k_error=np.array([lookup("k", c) for c in configs], dtype=np.float64),
        v_error=np.array([lookup("v", c) for c in configs], dtype=np.float64),
        w4=np.array([c.weights.bits == 4 for c in configs], dtype=np.float64),
    )


def _hinges(u: F64, name: str) -> tuple[list[F64], list[str]]:
    cols = [u - np.log10(ERROR_FLOOR)]
    names = [f"{name}_log"]
    for t in KNOTS:
        cols.append(np.maximum(u - t, 0.0))
        names.append(f"{name}_hinge{t:g}")
    return cols, names


def features(d: Design, context_tokens: int | NDArray[np.int64]) -> tuple[F64, list[str]]:
    """Feature matrix (N × F) and names; constrained features first, free ones last."""
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(d.grid),))
    fraction = quantized_tokens(tokens, d.grid) / np.maximum(tokens, 1)
    # Error energy scales with the share of tokens held quantized (the rest is 16-bit).
    root = np.sqrt(fraction)
    kc, kn = _hinges(np.log10(d.k_error * root + ERROR_FLOOR), "k")
    vc, vn = _hinges(np.log10(d.v_error * root + ERROR_FLOOR), "v")
    cols = kc + vc + [d.w4, np.ones(len(tokens)), np.log2(tokens / 512.0)]
    return np.column_stack(cols), kn + vn + ["awq", *FREE_FEATURES]

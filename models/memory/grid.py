"""A grid of configurations as columns (`GridArrays`), and which configurations a model takes.

Every ledger term is evaluated on these columns at once; the KV granularity is held as an
integer code (`GRAN_*`), so a term asks `g.gran == GRAN_CHANNEL`, never a bare number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.space import Config
from models.specs import ArchSpec

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
HALF = 2  # bytes of a 16-bit element
META = 4  # fp16 scale + fp16 zero per group

# KV granularity codes (`GridArrays.gran`); 0 = no quantized side
GRAN_NONE = 0
GRAN_TENSOR = 1
GRAN_TOKEN = 2
GRAN_BLOCK = 3
GRAN_CHANNEL = 4
GRAN_CODES: dict[str | None, int] = {
    None: GRAN_NONE, "tensor": GRAN_TENSOR, "token": GRAN_TOKEN, "block": GRAN_BLOCK,
    "channel": GRAN_CHANNEL,
}


@dataclass(frozen=True)
class GridArrays:
    """Columns of a list of configurations, for vectorised evaluation (N rows)."""

    w_bits: I64
    w_group: I64
    k_bits: I64
    v_bits: I64
    gran: I64
    group: I64
    smooth: I64
    residual: I64
    chunk: I64  # 0 = no chunking

    def __len__(self) -> int:
        return len(self.k_bits)

    def take(self, rows: NDArray[np.intp] | NDArray[np.int64]) -> GridArrays:
        """The given rows."""
        return GridArrays(
            self.w_bits[rows], self.w_group[rows], self.k_bits[rows], self.v_bits[rows],
            self.gran[rows], self.group[rows], self.smooth[rows], self.residual[rows],
            self.chunk[rows],
        )


def grid_arrays(configs: Sequence[Config]) -> GridArrays:
    def col(values: list[int]) -> I64:
        return np.asarray(values, dtype=np.int64)

    return GridArrays(
        w_bits=col([c.weights.bits for c in configs]),
        w_group=col([c.weights.group or 0 for c in configs]),
        k_bits=col([c.kv.k_bits for c in configs]),
        v_bits=col([c.kv.v_bits for c in configs]),
        gran=col([GRAN_CODES[c.kv.granularity] for c in configs]),
        group=col([c.kv.group or 0 for c in configs]),
        smooth=col([int(c.kv.smooth_keys) for c in configs]),
        residual=col([c.kv.residual for c in configs]),
        chunk=col([c.chunk or 0 for c in configs]),
    )


def check_compatible(spec: ArchSpec, config: Config) -> None:
    """Raise ValueError when a configuration cannot be applied to this architecture."""
    from models.memory.weights import awq_linear_bytes

    if config.kv.granularity == "block" and spec.head_dim % int(config.kv.group or 1):
        raise ValueError(
            f"block group {config.kv.group} does not divide {spec.name}'s head_dim "
            f"{spec.head_dim}; allowed block groups divide it: "
            + ", ".join(str(g) for g in (32, 64, 128) if spec.head_dim % g == 0)
        )
    if config.weights.bits == 4:
        awq_linear_bytes(spec, int(config.weights.group or 128))


def compatible(spec: ArchSpec, configs: Sequence[Config]) -> list[Config]:
    """The configurations that apply to this architecture."""
    keep = []
    for c in configs:
        try:
            check_compatible(spec, c)
        except ValueError:
            continue
        keep.append(c)
    return keep

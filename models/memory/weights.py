"""Exact weight bytes: 2 per parameter at 16 bit; AWQ GEMM checkpoints pack decoder linears."""

from __future__ import annotations

import numpy as np

from models.memory.grid import HALF, I64, GridArrays
from models.space import Weights
from models.specs import ArchSpec


def awq_linear_bytes(spec: ArchSpec, group: int) -> int:
    """Bytes of every decoder linear layer as an AWQ GEMM checkpoint stores it (all layers).

    qweight int32 [in, out/8] (int4 packed), qzeros int32 [in/g, out/8], scales fp16 [in/g, out],
    bias fp16 [out] where the layer has one.
    """
    total = 0
    for name, fan_in, fan_out, bias in spec.linear_shapes():
        if fan_in % group or fan_out % 8:
            raise ValueError(
                f"AWQ group {group} does not divide {spec.name}'s {name} in_features {fan_in} "
                f"(or out_features {fan_out} is not a multiple of 8); such a layer cannot be "
                "packed, use a group size that divides every in_features"
            )
        groups = fan_in // group
        total += fan_in * fan_out // 2 + groups * fan_out // 2 + groups * fan_out * HALF
        total += fan_out * HALF if bias else 0
    return total * spec.num_layers


def weight_bytes(spec: ArchSpec, weights: Weights) -> int:
    """Exact weight bytes: 2 per parameter at 16 bit; AWQ packs decoder linears only."""
    if weights.bits == 16:
        return HALF * spec.parameters
    linear_params = sum(
        a * b + (b if bias else 0) for _, a, b, bias in spec.linear_shapes()
    ) * spec.num_layers
    rest = spec.parameters - linear_params  # embeddings, lm_head, norms stay 16-bit
    return HALF * rest + awq_linear_bytes(spec, int(weights.group or 128))


def weight_bytes_grid(spec: ArchSpec, g: GridArrays) -> I64:
    out = np.full(len(g), weight_bytes(spec, Weights(16)), dtype=np.int64)
    for group in np.unique(g.w_group[g.w_bits == 4]):
        out[(g.w_bits == 4) & (g.w_group == group)] = weight_bytes(spec, Weights(4, int(group)))
    return out

"""Exact KV-cache bytes of the project's quantized cache, per row of a grid.

Layout (per layer, K and V alike unless said; H = KV heads, D = head_dim, b = bits):
- 16-bit side: H·T·D·2 bytes.
- quantized side: the oldest T_q tokens as codes packed along D, H·T_q·ceil(D·b/8) bytes, plus
  one fp16 scale and one fp16 zero (4 bytes) per group; the newest T − T_q tokens stay 16-bit.
  T_q = max(T − R, 0), except `channel`, which quantizes whole groups of CHANNEL_GROUP_TOKENS
  tokens: T_q = ⌊max(T − R, 0)/32⌋·32 for both sides.
- groups: `token` one per token-head; `block` D/G per token-head; `channel` keys one per
  head-channel per 32-token group, values one per token-head; `tensor` one per flush segment
  (each cache update that pushes tokens out of the residual window quantizes them together).
- key smoothing: one fp16 mean per head and channel of the keys (H·D·2 bytes).
The counts assume the cache state after a prefill of L tokens in chunks of C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from models.memory.grid import (
    GRAN_BLOCK,
    GRAN_CHANNEL,
    GRAN_TENSOR,
    GRAN_TOKEN,
    HALF,
    I64,
    META,
    GridArrays,
    grid_arrays,
)
from models.space import CHANNEL_GROUP_TOKENS, Config
from models.specs import ArchSpec


def tensor_segments(tokens: I64, chunk: I64, residual: I64) -> I64:
    """Flush segments after a prefill of `tokens` in chunks (0 = one chunk), residual window R.

    Chunk i ends at e_i = min(i·C, T); its update flushes iff e_i > R.
    """
    c = np.where(chunk > 0, chunk, np.maximum(tokens, 1))
    n = -(-tokens // c)
    early = np.minimum(np.maximum(n - 1, 0), residual // c)
    return np.asarray(np.where(tokens > residual, n - early, 0), dtype=np.int64)


def quantized_tokens(tokens: I64, g: GridArrays) -> I64:
    """T_q: how many of the oldest tokens are held quantized."""
    beyond = np.maximum(tokens - g.residual, 0)
    channel = (beyond // CHANNEL_GROUP_TOKENS) * CHANNEL_GROUP_TOKENS
    return np.asarray(np.where(g.gran == GRAN_CHANNEL, channel, beyond), dtype=np.int64)


@dataclass(frozen=True)
class SideConstants:
    """Per-row bytes of one side (K or V) of one layer: the ledger is linear in T_q and T."""

    per_quantized_token: I64  # packed codes + per-token share of the group metadata
    per_16bit_token: I64
    fixed: I64  # smoothing means
    quantized: NDArray[np.bool_]


class KVConstants(NamedTuple):
    """The context-free constants of both sides, per row (what a ledger may keep)."""

    keys: SideConstants
    values: SideConstants


def side_constants(spec: ArchSpec, g: GridArrays, keys: bool) -> SideConstants:
    h, d = spec.num_kv_heads, spec.head_dim
    bits = g.k_bits if keys else g.v_bits
    quant = bits < 16
    codes = h * (-(-d * bits // 8))
    block_groups = d // np.maximum(g.group, 1)
    # `channel` keys: one scale+zero per head-channel per 32-token group, i.e. H·D·4/32 bytes per
    # token (exact, because channel T_q is a whole number of groups and D is a multiple of 8).
    channel_meta = (h * d * META) // CHANNEL_GROUP_TOKENS if keys else h * META
    meta = np.select(
        [g.gran == GRAN_TOKEN, g.gran == GRAN_BLOCK, g.gran == GRAN_CHANNEL],
        [np.full(len(g), h * META), h * META * block_groups, np.full(len(g), channel_meta)],
        default=0,
    )
    smooth = np.where(quant & (g.smooth == 1), h * d * HALF, 0) if keys else np.zeros(len(g))
    return SideConstants(
        per_quantized_token=np.where(quant, codes + meta, 0).astype(np.int64),
        per_16bit_token=np.full(len(g), h * d * HALF, dtype=np.int64),
        fixed=np.asarray(smooth, dtype=np.int64),
        quantized=quant,
    )


def kv_constants(spec: ArchSpec, g: GridArrays) -> KVConstants:
    return KVConstants(side_constants(spec, g, True), side_constants(spec, g, False))


def side_bytes(side: SideConstants, tokens: I64, t_q: I64, segments: I64) -> I64:
    tq = np.where(side.quantized, t_q, 0)
    total = side.per_quantized_token * tq + side.per_16bit_token * (tokens - tq)
    total += np.where(side.quantized & (tokens > 0), side.fixed, 0)
    total += np.where(side.quantized, segments, 0) * META  # `tensor` rows only (else 0)
    return np.asarray(total, dtype=np.int64)


def kv_cache_bytes_grid(
    spec: ArchSpec, g: GridArrays, context_tokens: int | I64, sides: KVConstants | None = None
) -> I64:
    """Exact KV-cache bytes for every row at `context_tokens` (scalar or array per row);
    `sides`: this grid's `kv_constants`, when the caller keeps them."""
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(g),))
    keys, values = sides or kv_constants(spec, g)
    t_q = quantized_tokens(tokens, g)
    tensor = g.gran == GRAN_TENSOR
    segments = np.zeros(len(g), dtype=np.int64)
    if tensor.any():
        segments[tensor] = tensor_segments(tokens[tensor], g.chunk[tensor], g.residual[tensor])
    per_layer = side_bytes(keys, tokens, t_q, segments)
    per_layer += side_bytes(values, tokens, t_q, segments)
    return per_layer * spec.num_layers


def kv_cache_bytes(spec: ArchSpec, config: Config, context_tokens: int) -> int:
    return int(kv_cache_bytes_grid(spec, grid_arrays([config]), context_tokens)[0])


def kv_bytes_per_token_16bit(spec: ArchSpec) -> int:
    """2 (K, V) × layers × KV heads × head_dim × 2 bytes."""
    return 2 * spec.num_layers * spec.kv_dim * HALF

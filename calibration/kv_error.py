"""The `kv_error` table: relative K/V reconstruction error of every scheme side of the grid.

One 16-bit prefill captures each layer's K and V [B, H, T, D] (keys after RoPE); each side key
(`models.space.KVScheme.side_key`) is then quantized once with the cache's own grouping adapters.
Error = sqrt(Σ‖x − x̂‖² / Σ‖x‖²) over layers, against the unsmoothed K (or V) energy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from calibration.kvcache.grouping import grouping_for
from models.space import CHANNEL_GROUP_TOKENS, KV_BITS, RESIDUALS, KVScheme, kv_schemes


def side_schemes(schemes: Iterable[KVScheme] | None = None) -> dict[str, tuple[str, KVScheme]]:
    """side key → (side, a scheme that has it); default: every side of `models.space.full_grid`."""
    if schemes is None:
        pairs = tuple((k, v) for k in KV_BITS for v in KV_BITS)
        schemes = kv_schemes(pairs, RESIDUALS[:1])
    out: dict[str, tuple[str, KVScheme]] = {}
    for kv in schemes:
        for side in ("k", "v"):
            key = kv.side_key(side)
            if key is not None and key not in out:
                out[key] = (side, kv)
    return out


def capture_kv(model: Any, input_ids: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer (K, V) [B, H, T, D] of one unchunked 16-bit prefill."""
    from transformers import DynamicCache

    cache = DynamicCache()
    with torch.inference_mode():
        model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return [(layer.keys, layer.values) for layer in cache.layers]  # type: ignore[misc]


def side_error(kv: list[tuple[torch.Tensor, torch.Tensor]], side: str, scheme: KVScheme,
               head_dim_ok: bool = True) -> float:
    """Relative error of quantizing one side of every layer under `scheme`."""
    keys = side == "k"
    bits = scheme.k_bits if keys else scheme.v_bits
    grouping = grouping_for(scheme, keys)
    err = sig = 0.0
    for k, v in kv:
        x = (k if keys else v).float()
        t = x.shape[2] // grouping.flush_multiple * grouping.flush_multiple
        x = x[:, :, :t]
        sig += float(x.square().sum())
        if keys and scheme.smooth_keys:
            x = x - x.mean(dim=2, keepdim=True).to(torch.float16).float()
        codes, scale, zero = grouping.quantize(x, bits)
        approx = grouping.dequantize(codes, scale, zero, [t], torch.float32)
        err += float((x - approx).square().sum())
    return (err / sig) ** 0.5 if sig else 0.0


def measure_kv_error(
    model: Any, input_ids: torch.Tensor, schemes: Iterable[KVScheme] | None = None
) -> dict[str, float]:
    """The table for every side key whose grouping fits the model's head_dim."""
    kv = capture_kv(model, input_ids)
    head_dim = kv[0][0].shape[-1]
    if kv[0][0].shape[2] < CHANNEL_GROUP_TOKENS:
        raise ValueError(f"the K/V error prefill needs >= {CHANNEL_GROUP_TOKENS} tokens")
    table = {}
    for key, (side, scheme) in side_schemes(schemes).items():
        if scheme.granularity == "block" and head_dim % int(scheme.group or 1):
            continue
        table[key] = side_error(kv, side, scheme)
    return table

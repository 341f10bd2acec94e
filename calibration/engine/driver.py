"""Chunked prefill + greedy decode of a Hugging Face causal LM through a `QuantizedKVCache`.

Same code on CPU and CUDA: the model's device decides; only the last position's logits are made.

Keys arrive after RoPE (transformers 5.x rotates q and k in the attention module, then calls
`past_key_values.update`), which implies for the cache:
- per-channel statistics (KIVI `channel` groups, the smoothing mean μ) mix rotated coordinates:
  channel pair (i, i + D/2) of token t is rotated by t·θ_i, so a channel's range over 32 tokens
  includes the rotation, not only the content; low-frequency channels (small θ_i) barely turn
  and keep their outliers, which is why per-channel keys still pay off;
- μ is the mean of rotated keys of the first update; subtracting it is still exact for attention
  (q·(k − μ) = q·k − q·μ, the same shift for every key of a query), whatever the rotation;
- nothing is re-rotated: codes decode straight to the rotated keys attention needs, and a later
  token's position never touches stored keys (no pre-RoPE cache, no rotation at read time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from transformers.cache_utils import Cache

from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme


def default_dtype(device: torch.device | str) -> torch.dtype:
    """bfloat16 on CPU (fast kernels, fp32 range), float16 on CUDA (AWQ's scale dtype)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def prefill(model: Any, input_ids: Tensor, cache: Cache, chunk: int | None) -> Tensor:
    """Feed input_ids [B, L] in chunks of `chunk` tokens (None: one pass) into `cache`.

    Returns the next-token logits [B, V] of the last position (float32).
    """
    if input_ids.ndim != 2 or input_ids.shape[1] == 0:
        raise ValueError(
            f"input_ids must be [batch, tokens] with tokens >= 1; got {tuple(input_ids.shape)}"
        )
    if chunk is not None and chunk <= 0:
        raise ValueError(f"prefill chunk must be a positive integer or None; got {chunk!r}")
    ids = input_ids.to(model_device(model))
    step = chunk or ids.shape[1]
    logits = None
    for start in range(0, ids.shape[1], step):
        out = model(
            input_ids=ids[:, start : start + step],
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1]
    assert logits is not None
    return logits.float()


@torch.inference_mode()
def forward_logits(model: Any, token_ids: Tensor, cache: Cache) -> Tensor:
    """Append token_ids [B, N] to the cache in one pass; return logits [B, N, V] in the model's
    dtype."""
    out = model(input_ids=token_ids.to(model_device(model)), past_key_values=cache, use_cache=True)
    return out.logits


@torch.inference_mode()
def greedy_decode(
    model: Any, cache: Cache, logits: Tensor, max_new_tokens: int,
    eos_token_id: int | None = None,
) -> Tensor:
    """Decode greedily from next-token logits [B, V]; returns token ids [B, N ≤ max_new_tokens].

    Stops early once every row has produced `eos_token_id` (kept in the output).
    """
    tokens: list[Tensor] = []
    done = torch.zeros(logits.shape[0], dtype=torch.bool, device=logits.device)
    for i in range(max_new_tokens):
        nxt = logits.argmax(dim=-1)
        tokens.append(nxt)
        if eos_token_id is not None:
            done |= nxt == eos_token_id
            if bool(done.all()):
                break
        if i + 1 < max_new_tokens:
            out = model(input_ids=nxt[:, None], past_key_values=cache, use_cache=True)
            logits = out.logits[:, -1]  # argmax is the same in the model's dtype
    if not tokens:
        return torch.empty(logits.shape[0], 0, dtype=torch.long, device=logits.device)
    return torch.stack(tokens, dim=1)


@dataclass
class Generation:
    """Greedy continuation: tokens [B, N], the filled cache, the prefill's last logits [B, V]."""

    tokens: Tensor
    cache: QuantizedKVCache
    prefill_logits: Tensor


def generate(
    model: Any,
    input_ids: Tensor,
    scheme: KVScheme,
    chunk: int | None,
    max_new_tokens: int,
    eos_token_id: int | None = None,
    track_error: bool = False,
) -> Generation:
    """Chunked prefill of input_ids [B, L] into a fresh cache, then greedy decoding."""
    cache = QuantizedKVCache.for_model(scheme, model, track_error)
    logits = prefill(model, input_ids, cache, chunk)
    tokens = greedy_decode(model, cache, logits, max_new_tokens, eos_token_id)
    return Generation(tokens, cache, logits)

"""Tiny random Llama / Qwen2 / Mistral models built from a config, for tests and benchmarks.

hidden 256, 4 heads, 2 KV heads, head_dim 64, 2 layers, intermediate 512 (AWQ group 128 divides
every in_features); nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config

ARCHITECTURES = ("llama", "qwen2", "mistral")
_CONFIGS: dict[str, Any] = {"llama": LlamaConfig, "qwen2": Qwen2Config, "mistral": MistralConfig}


def tiny_config(arch: str, vocab_size: int = 512, **overrides: Any) -> Any:
    """A tiny config of `arch` (one of llama, qwen2, mistral), full attention everywhere."""
    if arch not in _CONFIGS:
        raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}; got {arch!r}")
    fields: dict[str, Any] = dict(
        hidden_size=256, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
        num_hidden_layers=2, intermediate_size=512, vocab_size=vocab_size,
        max_position_embeddings=8192, tie_word_embeddings=False,
    )
    if arch == "mistral":
        fields["sliding_window"] = None
    if arch == "qwen2":
        fields["use_sliding_window"] = False
    fields.update(overrides)
    return _CONFIGS[arch](**fields)


def tiny_model(
    arch: str, dtype: torch.dtype = torch.bfloat16, seed: int = 0, **overrides: Any
) -> Any:
    """A randomly initialised tiny causal LM in eval mode with SDPA attention."""
    torch.manual_seed(seed)
    config = tiny_config(arch, **overrides)
    config._attn_implementation = "sdpa"
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()

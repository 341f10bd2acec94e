"""Architecture table for testbed models: one row per HF class, plus the shared small dimensions.

No isinstance ladders: a row names the config class, the model class and the config overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)


@dataclass(frozen=True)
class Arch:
    config_cls: Any  # a PretrainedConfig subclass
    model_cls: Any  # the matching *ForCausalLM class
    overrides: dict[str, Any] = field(default_factory=dict)


# Qwen2 always has q/k/v biases; Mistral's sliding window is switched off (full attention).
ARCHS: dict[str, Arch] = {
    "llama": Arch(LlamaConfig, LlamaForCausalLM, {"attention_bias": False}),
    "qwen2": Arch(Qwen2Config, Qwen2ForCausalLM, {"use_sliding_window": False}),
    "mistral": Arch(MistralConfig, MistralForCausalLM, {"sliding_window": None}),
}


@dataclass(frozen=True)
class Dims:
    """Model size; hidden is a multiple of 128 so AWQ group 128 applies to every linear layer."""

    hidden: int = 256
    intermediate: int = 512
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    max_positions: int = 4096
    rope_theta: float = 1e4


def make_config(arch: str, dims: Dims, vocab_size: int, pad: int, bos: int, eos: int) -> Any:
    """A config of the named architecture (GQA, RoPE, untied lm_head)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(sorted(ARCHS))}")
    row = ARCHS[arch]
    return row.config_cls(
        vocab_size=vocab_size,
        hidden_size=dims.hidden,
        intermediate_size=dims.intermediate,
        num_hidden_layers=dims.layers,
        num_attention_heads=dims.heads,
        num_key_value_heads=dims.kv_heads,
        head_dim=dims.hidden // dims.heads,
        max_position_embeddings=dims.max_positions,
        rope_parameters={"rope_type": "default", "rope_theta": dims.rope_theta},
        tie_word_embeddings=False,
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
        **row.overrides,
    )


def make_model(arch: str, config: Any) -> PreTrainedModel:
    """A freshly initialised fp32 model of the named architecture (uses the torch RNG)."""
    model: PreTrainedModel = ARCHS[arch].model_cls(config)
    return model

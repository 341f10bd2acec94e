"""Exact conversion of a testbed Llama folder into a Mistral folder (same weights, same logits).

Llama and Mistral share parameter names and maths when Mistral's sliding window is off.
`python -m calibration.testbed.convert --src models/testbed/testbed-llama \
    --out models/testbed/testbed-mistral`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from calibration.testbed.architectures import ARCHS
from calibration.testbed.tokenizer import save_tokenizer

SHARED_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "max_position_embeddings",
    "rope_parameters",
    "rms_norm_eps",
    "hidden_act",
    "initializer_range",
    "tie_word_embeddings",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
)


def llama_to_mistral(src: str | Path, out: str | Path) -> None:
    """Copy every tensor of the Llama model in src into a MistralForCausalLM saved in out (bf16)."""
    src_cfg = AutoConfig.from_pretrained(str(src), trust_remote_code=False)
    if src_cfg.model_type != "llama":
        raise ValueError(f"source must be a llama folder, got model_type {src_cfg.model_type!r}")
    if getattr(src_cfg, "attention_bias", False) or getattr(src_cfg, "mlp_bias", False):
        raise ValueError("Mistral has no attention/MLP biases; the source must have none")
    row = ARCHS["mistral"]
    cfg = row.config_cls(**{k: getattr(src_cfg, k) for k in SHARED_FIELDS}, **row.overrides)
    llama = AutoModelForCausalLM.from_pretrained(
        str(src), dtype=torch.bfloat16, trust_remote_code=False, use_safetensors=True
    )
    mistral = row.model_cls(cfg).to(torch.bfloat16)
    missing, unexpected = mistral.load_state_dict(llama.state_dict(), strict=True)
    if missing or unexpected:
        raise ValueError(f"state dicts differ: missing {missing}, unexpected {unexpected}")
    mistral.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    llama_to_mistral(args.src, args.out)


if __name__ == "__main__":
    main()

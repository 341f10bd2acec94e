"""Load a Hugging Face model folder for inference: 16-bit as is, AWQ GEMM int4 kept packed.

AutoAWQ's own loader needs intel-extension-for-pytorch on CPU (broken with torch 2.13), so an
AWQ folder is loaded here: HF skeleton on the meta device, decoder linears → `PackedInt4Linear`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM

from calibration.engine.driver import default_dtype
from calibration.engine.packed_linear import DequantizedLinear, PackedInt4Linear
from calibration.kvcache.store import storage_bytes
from calibration.runtime import ATTENTIONS

DECODER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def load_model(
    model_dir: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
    attention: str = "sdpa", packed: bool = True,
) -> Any:
    """An eval-mode causal LM on `device` (dtype: bf16 on CPU, fp16 on CUDA unless given) with
    `attention` ("sdpa" or "eager", transformers' implementations).

    A folder whose config has `quantization_config.quant_method == "awq"` loads packed int4
    (what the memory probe measures); `packed=False` dequantizes those layers once, for the
    accuracy harness: the same logits, bit for bit, several times faster on a CPU.
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}; got {attention!r}")
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"{model_dir} is not a Hugging Face model folder (no config.json)")
    dtype = dtype or default_dtype(device)
    raw = json.loads((model_dir / "config.json").read_text())
    quant = raw.get("quantization_config") or {}
    if not quant:
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=dtype, attn_implementation=attention, trust_remote_code=False,
            use_safetensors=True,
        )
        return model.to(device).eval()  # type: ignore[arg-type]
    if quant.get("quant_method") != "awq" or quant.get("version", "gemm").lower() != "gemm":
        raise ValueError(
            f"{model_dir}: quantization {quant.get('quant_method')!r}/{quant.get('version')!r} "
            "is not supported; supported: awq/gemm (4-bit, zero point)"
        )
    model = _load_awq(model_dir, int(quant["group_size"]), torch.device(device), dtype, attention)
    return model if packed else dequantize_awq_layers(model, dtype)


def dequantize_awq_layers(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Every `PackedInt4Linear` of `model` replaced by its `DequantizedLinear` (in place)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, PackedInt4Linear):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, DequantizedLinear(module, dtype))
    return model


def _load_awq(model_dir: Path, group: int, device: torch.device, dtype: torch.dtype,
              attention: str) -> Any:
    config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    config.quantization_config = None
    config._attn_implementation = attention
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, trust_remote_code=False)
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in DECODER_LINEARS:
                old = getattr(parent, name, None)
                if isinstance(old, nn.Linear):
                    packed = PackedInt4Linear(
                        old.in_features, old.out_features, group, old.bias is not None
                    )
                    setattr(parent, name, packed)
    model.to_empty(device=device)
    state: dict[str, torch.Tensor] = {}
    for path in sorted(model_dir.glob("*.safetensors")):
        state.update(load_file(path, device=str(device)))
    tied = bool(getattr(config, "tie_word_embeddings", False))
    if tied:
        state.pop("lm_head.weight", None)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [m for m in missing if not (tied and m == "lm_head.weight")]
    if missing or unexpected:
        raise ValueError(
            f"{model_dir}: checkpoint mismatch; missing {missing}, unexpected {unexpected}"
        )
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    _rebuild_rotary(model, device)
    return model.eval()


def _rebuild_rotary(model: nn.Module, device: torch.device) -> None:
    """Non-persistent buffers (RoPE inverse frequencies) are not in a checkpoint: recompute."""
    for name, module in list(model.named_modules()):
        if type(module).__name__.endswith("RotaryEmbedding"):
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            fresh = type(module)(config=module.config, device=device)
            setattr(parent, name.rsplit(".", 1)[-1], fresh)


def weight_bytes_held(model: nn.Module) -> int:
    """Bytes of the distinct storages behind the model's state dict (parameters + persistent
    buffers; tied embeddings once; RoPE's non-persistent inverse frequencies excluded)."""
    return storage_bytes(*model.state_dict().values())

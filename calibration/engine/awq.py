"""AWQ int4 weight quantization with AutoAWQ 0.2.9, written as a standard AWQ GEMM checkpoint.

AutoAWQ's activation-aware scale search + asymmetric RTN group quantization runs on CPU here
(calibration data given as token-id lists, its triton path switched off); the 16-bit rest
(embeddings, lm_head, norms) is cast to the source model's dtype.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from models.memory import awq_linear_bytes
from models.specs import spec_from_config

# everything the tasks read through the tokenizer: a chat model's prompts need its template
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt", "tokenizer.model", "generation_config.json",
                   "chat_template.jinja", "chat_template.json")


def quantize_awq(
    model_dir: str | Path,
    out_dir: str | Path,
    calib_ids: list[list[int]],
    group: int = 128,
    duo_scaling: bool = True,
) -> Path:
    """Quantize every decoder linear of `model_dir` to AWQ int4 (group `group`) into `out_dir`.

    calib_ids: calibration sequences as token-id lists (each at most 512 tokens is plenty).
    duo_scaling: AutoAWQ's default scale grid s = x̄^α / w̄^(1−α), which lacks s = 1; False is
    the AWQ paper's s = x̄^α (α = 0 is no scaling), the one that works where some input
    channels' weights are near zero (SmolLM2-135M: calibration.awq_check).
    Raises ValueError (the ledger's message) when `group` does not divide every in_features.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    spec = spec_from_config(cfg, model_dir.name)
    awq_linear_bytes(spec, group)  # refuses an incompatible group with the ledger's message
    if not calib_ids or not all(calib_ids):
        raise ValueError("calib_ids must be a non-empty list of non-empty token-id lists")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import awq.modules.linear.gemm as awq_gemm
        from awq import AutoAWQForCausalLM

    awq_gemm.TRITON_AVAILABLE = False  # triton fails on CPU; use AutoAWQ's pure-torch path
    model = AutoAWQForCausalLM.from_pretrained(
        str(model_dir), device_map="cpu", torch_dtype=torch.float32,
        trust_remote_code=False, safetensors=True,  # never a folder's own code or pickles
    )
    model.quantize(
        None,
        quant_config={"zero_point": True, "q_group_size": group, "w_bit": 4, "version": "GEMM"},
        calib_data=calib_ids,
        max_calib_seq_len=max(len(c) for c in calib_ids),
        n_parallel_calib_samples=None,
        duo_scaling=duo_scaling,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_quantized(str(out_dir))
    _cast_16bit_rest(out_dir, spec.dtype)
    copy_tokenizer(model_dir, out_dir)
    return out_dir


def copy_tokenizer(model_dir: Path, out_dir: Path) -> list[str]:
    """Copy the tokenizer files of model_dir that out_dir lacks or holds otherwise (quantizing
    weights never changes them); returns the names copied. An AWQ folder must tokenize and
    template prompts exactly as its 16-bit model, or paired comparisons compare other prompts."""
    copied = []
    for name in TOKENIZER_FILES:
        src, dst = model_dir / name, out_dir / name
        if src.is_file() and (not dst.is_file() or dst.read_bytes() != src.read_bytes()):
            part = dst.with_name(f".{name}.part")
            shutil.copy(src, part)
            part.replace(dst)  # a worker reading the folder never sees half a file
            copied.append(name)
    return copied


def _cast_16bit_rest(out_dir: Path, dtype_name: str) -> None:
    """AutoAWQ saves the unquantized tensors in its working dtype (float32): cast them back.

    Tensors of packed modules (qweight, qzeros, fp16 scales and bias) are left as AWQ wrote them.
    """
    dtype = getattr(torch, dtype_name)
    for path in sorted(out_dir.glob("*.safetensors")):
        tensors = load_file(path)
        packed = {name.rsplit(".", 1)[0] for name in tensors if name.endswith(".qweight")}
        for name, t in tensors.items():
            module, leaf = name.rsplit(".", 1)
            if module not in packed and t.is_floating_point():
                tensors[name] = t.to(dtype)
        save_file(tensors, path, metadata={"format": "pt"})
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["dtype"] = dtype_name
    cfg.pop("torch_dtype", None)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")

"""GGUF file → ordinary Hugging Face folder: bf16 safetensors, tokenizer with the GGUF's own
special tokens and chat template, generation config, and a provenance file.

transformers' own GGUF loader dequantizes the blocks (it needs `gguf`, and `accelerate` at
import time); the folder it leaves loads with neither. The folder is written beside `out` and
renamed into place only once its reload gives the converted model's logits, so an interrupted
import never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calibration.gguf import agreement
from calibration.gguf.provenance import Provenance
from calibration.gguf.source import GgufError, GgufSource, read_source, sha256_file
from calibration.gguf.tokenizer import load_tokenizer
from models.specs import spec_from_config

# keep: as the file stores them; output: both tied to the file's output copy (Qwen2.5 GGUFs
# store the tied upstream matrix twice, the output copy at higher precision); input: both to
# the input copy
TIE_CHOICES = ("keep", "output", "input")
DTYPE = "bfloat16"
MAX_FOLDER_LOGIT_DIFF = 1e-2  # reload vs in-memory model; measured 0.0 (same bf16 tensors)

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def safetensors_bytes(folder: Path) -> int:
    """Sum of the tensor bytes of every *.safetensors file (from their headers)."""
    total = 0
    for path in sorted(Path(folder).glob("*.safetensors")):
        with path.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        total += sum(t["data_offsets"][1] - t["data_offsets"][0]
                     for k, t in header.items() if k != "__metadata__")
    return total


def _check_spec(config: Any, source: GgufSource) -> None:
    """Refuse, before any weight is dequantized, what the memory ledger cannot size."""
    try:
        spec_from_config(config.to_dict(), source.path.stem)
    except ValueError as exc:
        raise GgufError(f"{source.path.name}: {exc}") from None


def _load(source: GgufSource) -> tuple[Any, Any]:
    """(config, dequantized bf16 model) through transformers' GGUF loader."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GgufConfig

    where, name = str(source.path.parent), source.path.name
    try:
        config = AutoConfig.from_pretrained(where, gguf_file=name, trust_remote_code=False)
        _check_spec(config, source)
        model: Any = AutoModelForCausalLM.from_pretrained(
            where, gguf_file=name, dtype=torch.bfloat16, trust_remote_code=False,
            quantization_config=GgufConfig(dequantize=True))
    except GgufError:
        raise
    except Exception as exc:  # noqa: BLE001 - the loader refused this file: say why, one line
        raise GgufError(f"{name}: transformers cannot load it ({type(exc).__name__}: "
                        f"{exc})") from None
    # save_pretrained refuses while a GGUF quantizer is attached; every weight is dense now
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.eval()
    return config, model


def _tie(model: Any, tie: str, source: GgufSource) -> bool:
    """Tie the embeddings as asked; True when the model ends up tied."""
    if not source.has_separate_output:
        return True  # the file stores one matrix: already tied
    if tie == "keep":
        return bool(model.config.tie_word_embeddings)
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    if tie == "output":
        inp.weight = out.weight
    else:
        out.weight = inp.weight
    model.config.tie_word_embeddings = True
    model.all_tied_weights_keys = model.get_expanded_tied_weights_keys(all_submodels=True)
    return True


def _generation_config(source: GgufSource) -> Any:
    from transformers import GenerationConfig

    s = source.special
    return GenerationConfig(bos_token_id=s.bos_token_id, eos_token_id=s.eos_token_id,
                            pad_token_id=s.pad_token_id if s.pad_token_id is not None
                            else s.eos_token_id)


def _prepare(out: Path, overwrite: bool) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise GgufError(f"{out} already exists and is not empty; choose another --out or "
                        "pass --overwrite")
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def import_gguf(gguf_file: Path, out: Path, tie: str = "keep", overwrite: bool = False,
                say: Say = _quiet) -> Provenance:
    """Convert `gguf_file` into the folder `out`; return (and write) its provenance."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if tie not in TIE_CHOICES:
        raise ValueError(f"--tie must be one of {', '.join(TIE_CHOICES)}; got {tie!r}")
    gguf_file, out = Path(gguf_file), Path(out)
    t0 = time.perf_counter()
    source = read_source(gguf_file)
    partial = _prepare(out, overwrite)
    seconds: dict[str, float] = {}
    try:
        say(f"hashing {gguf_file.name} ({gguf_file.stat().st_size / 2**20:,.0f} MiB)")
        sha = sha256_file(gguf_file)
        say(f"tokenizer: {source.tokenizer_model}, {source.vocab_tokens:,} tokens, "
            f"eos {source.special.strings['eos_token']!r}")
        tok, fixes = load_tokenizer(source)
        say(f"dequantizing {source.architecture} weights ({source.file_type}) to {DTYPE}")
        t = time.perf_counter()
        _, model = _load(source)
        seconds["load"] = time.perf_counter() - t
        ids = agreement.prompt_ids(tok)
        gguf_logits = agreement.logits(model, ids)
        tied = _tie(model, tie, source)
        converted = agreement.logits(model, ids) if tie != "keep" else gguf_logits
        model.config.eos_token_id = source.special.eos_token_id
        model.generation_config = _generation_config(source)
        say(f"writing {partial.name}")
        t = time.perf_counter()
        model.save_pretrained(partial)
        tok.save_pretrained(partial)
        seconds["save"] = time.perf_counter() - t
        params = sum(p.numel() for p in model.parameters())
        del model
        say("reloading the folder to check its logits")
        t = time.perf_counter()
        reloaded = AutoModelForCausalLM.from_pretrained(
            partial, dtype=torch.bfloat16, use_safetensors=True, trust_remote_code=False)
        tok2 = AutoTokenizer.from_pretrained(partial, trust_remote_code=False)
        if not torch.equal(agreement.prompt_ids(tok2), ids):
            raise GgufError(f"{gguf_file.name}: the saved tokenizer does not reproduce the "
                            "converted one on the fixed prompt")
        folder = agreement.logits(reloaded, ids)
        seconds["verify"] = time.perf_counter() - t
        vs_converted = agreement.compare(converted, folder)
        if vs_converted.max_abs_logit_diff > MAX_FOLDER_LOGIT_DIFF:
            raise GgufError(f"{gguf_file.name}: the saved folder's logits differ from the "
                            f"converted model's by {vs_converted.max_abs_logit_diff:.3g}")
        seconds["total"] = time.perf_counter() - t0
        prov = Provenance(
            source_file=gguf_file.name, source_sha256=sha,
            source_bytes=gguf_file.stat().st_size, architecture=source.architecture,
            model_name=source.model_name, file_type=source.file_type,
            quant_types=source.quant_types, embedding_types=source.embedding_types, tie=tie,
            tied_embeddings=tied, dtype=DTYPE, parameters=int(params),
            weight_bytes=safetensors_bytes(partial), special_tokens=source.special.strings,
            tokenizer_fixes=fixes,
            agreement={"folder_vs_converted": vs_converted.as_dict(),
                       "folder_vs_gguf": agreement.compare(gguf_logits, folder).as_dict()},
            seconds={k: round(v, 2) for k, v in seconds.items()},
        )
        prov.write(partial)
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return prov

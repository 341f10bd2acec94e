"""`kvpareto import --gguf`: a tiny Llama GGUF (real Q8_0 / Q4_0 blocks, written by the test)
converted end to end; the folder reloads with the GGUF model's logits, holds exactly the
dequantized tensors, ends turns on the GGUF's own eos, and its provenance says so."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from calibration.cli import app
from calibration.gguf import agreement, import_gguf, provenance
from models.specs import load_spec

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")

HF_NAMES = {  # GGUF tensor name (per layer after "blk.N.") → HF parameter name
    "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def hf_tensor(gguf_name: str, data: np.ndarray, heads: int, kv_heads: int) -> tuple[str, Any]:
    """(HF name, tensor in HF layout) of one GGUF tensor: llama.cpp stores q/k rows permuted
    for its RoPE, which the HF layout undoes."""
    if gguf_name == "token_embd.weight":
        return "model.embed_tokens.weight", data
    if gguf_name == "output_norm.weight":
        return "model.norm.weight", data
    if gguf_name == "output.weight":
        return "lm_head.weight", data
    _, layer, kind, _ = gguf_name.split(".")
    if kind in ("attn_q", "attn_k"):
        n = heads if kind == "attn_q" else kv_heads
        data = data.reshape(n, data.shape[0] // n // 2, 2, -1).swapaxes(1, 2).reshape(data.shape)
    return f"model.layers.{layer}.{HF_NAMES[kind]}.weight", data


def folder_model(folder: Path):
    return transformers.AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16, use_safetensors=True, trust_remote_code=False)


def gguf_model(path: Path):
    return transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.bfloat16,
        quantization_config=transformers.GgufConfig(dequantize=True))


def test_import_end_to_end(tiny_gguf, tmp_path):
    out = tmp_path / "tiny-folder"
    r = CliRunner().invoke(app, ["import", "--gguf", str(tiny_gguf.path), "--out", str(out)])
    assert r.exit_code == 0, (r.output, r.exception)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            provenance.FILE} <= names
    assert not any(n.endswith((".bin", ".pt", ".gguf")) for n in names)
    assert not list(tmp_path.glob(".*.partial"))

    prov = provenance.read(out)
    assert prov is not None
    assert prov.source_file == tiny_gguf.path.name
    assert prov.source_sha256 == hashlib.sha256(tiny_gguf.path.read_bytes()).hexdigest()
    assert prov.quant_types == dict(Counter(tiny_gguf.types.values()))
    assert set(prov.quant_types) == {"Q4_0", "Q8_0", "F32"}
    assert prov.file_type == "MOSTLY_Q4_0"
    assert prov.tools["gguf"] == importlib.metadata.version("gguf")
    assert prov.tools["transformers"] == transformers.__version__
    assert prov.tied_embeddings
    assert prov.tie == "keep"
    for key in ("folder_vs_converted", "folder_vs_gguf"):
        assert prov.agreement[key]["max_abs_logit_diff"] == 0.0
        assert prov.agreement[key]["top1_agreement"] == 1.0
    # transformers makes eos the bos token; the GGUF header says <|im_end|>
    assert prov.tokenizer_fixes["eos_token"] == ["<|im_start|>", "<|im_end|>"]

    cfg = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in cfg
    assert cfg["tie_word_embeddings"] is True
    assert cfg["eos_token_id"] == 2
    assert json.loads((out / "generation_config.json").read_text())["eos_token_id"] == 2
    tok = transformers.AutoTokenizer.from_pretrained(out)
    assert (tok.eos_token, tok.eos_token_id, tok.bos_token) == ("<|im_end|>", 2, "<|im_start|>")
    assert tok.chat_template == tiny_gguf.chat_template
    ids = agreement.prompt_ids(tok)
    assert ids[0, 0].item() == 1
    assert 2 in ids[0].tolist()

    # the reloaded folder computes exactly the transformers-from-GGUF model's logits
    reloaded, reference = folder_model(out), gguf_model(tiny_gguf.path)
    assert torch.equal(agreement.logits(reloaded, ids), agreement.logits(reference, ids))
    # … because it holds exactly the dequantized GGUF tensors (bf16), q/k un-permuted
    state = reloaded.state_dict()
    for name, data in tiny_gguf.tensors.items():
        hf_name, want = hf_tensor(name, data, tiny_gguf.heads, tiny_gguf.kv_heads)
        assert torch.equal(state[hf_name], torch.from_numpy(np.ascontiguousarray(want))
                           .to(torch.bfloat16)), name

    spec = load_spec(out)
    assert spec.model_type == "llama"
    assert spec.tied_embeddings
    assert spec.num_kv_heads == tiny_gguf.kv_heads
    assert prov.parameters == spec.parameters == sum(p.numel() for p in reloaded.parameters())
    assert prov.weight_bytes == 2 * spec.parameters


@pytest.mark.parametrize("tie", ["keep", "output", "input"])
def test_tie_embeddings(tiny_gguf_untied, tmp_path, tie):
    out = tmp_path / f"tied-{tie}"
    prov = import_gguf(tiny_gguf_untied.path, out, tie=tie)
    model = folder_model(out)
    emb = tiny_gguf_untied.tensors
    want_in = emb["output.weight"] if tie == "output" else emb["token_embd.weight"]
    want_out = emb["token_embd.weight"] if tie == "input" else emb["output.weight"]
    as_bf16 = lambda a: torch.from_numpy(a).to(torch.bfloat16)  # noqa: E731
    assert torch.equal(model.get_input_embeddings().weight, as_bf16(want_in))
    assert torch.equal(model.get_output_embeddings().weight, as_bf16(want_out))
    spec = load_spec(out)
    assert spec.tied_embeddings is (tie != "keep") is prov.tied_embeddings
    assert prov.parameters == spec.parameters == sum(p.numel() for p in model.parameters())
    assert prov.embedding_types == {"token_embd.weight": "Q8_0", "output.weight": "Q8_0"}
    assert prov.agreement["folder_vs_converted"]["max_abs_logit_diff"] == 0.0
    if tie == "keep":
        assert prov.agreement["folder_vs_gguf"]["max_abs_logit_diff"] == 0.0
    else:  # tying to a different matrix changes the model, and the provenance says by how much
        assert prov.agreement["folder_vs_gguf"]["max_abs_logit_diff"] > 0.0


def test_model_gguf_is_converted_once(tiny_gguf, tmp_path, monkeypatch):
    from calibration.cli.inputs import model_folder
    from calibration.gguf import cache

    monkeypatch.setenv("KVPARETO_MODEL_CACHE", str(tmp_path / "cache"))
    folder, spec = model_folder(str(tiny_gguf.path))
    assert folder.is_relative_to(tmp_path / "cache")
    assert folder.name == tiny_gguf.path.stem
    assert spec.name == tiny_gguf.path.stem
    assert (folder / "model.safetensors").is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(cache, "import_gguf", refuse)
    assert model_folder(str(tiny_gguf.path))[0] == folder


def test_a_stale_partial_folder_is_replaced(tiny_gguf, tmp_path):
    """An import killed mid-way leaves only `.NAME.partial`; the next one starts it afresh."""
    stale = tmp_path / ".again.partial"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half a file")
    import_gguf(tiny_gguf.path, tmp_path / "again")
    assert not stale.exists()
    assert provenance.read(tmp_path / "again") is not None

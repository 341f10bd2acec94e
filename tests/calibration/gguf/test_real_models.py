"""The two real models of `make real-models`: their shipped specs (always), and the converted
folders under models/real/ (skipped with a reason when `make real-models` has not run): pinned
GGUF hashes, the issue's config facts, parameter counts, the 16-bit ledger exact to the byte
against the safetensors, the <|im_end|> end token, and a chat answer."""

from __future__ import annotations

import json

import pytest

from calibration.gguf import provenance, safetensors_bytes
from calibration.settings import CalibrationSettings
from models.memory import ledger
from models.space import parse_config
from models.specs import load_spec

REAL = {  # name: (GGUF sha256, tie, parameters, facts)
    "SmolLM2-135M-Instruct": (
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "keep",
        134_515_008, dict(model_type="llama", num_layers=30, hidden_size=576, num_heads=9,
                          num_kv_heads=3, head_dim=64, vocab_size=49_152, max_positions=8_192,
                          tied_embeddings=True, qkv_bias=False)),
    "Qwen2.5-Coder-0.5B-Instruct": (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "output",
        494_032_768, dict(model_type="qwen2", num_layers=24, hidden_size=896, num_heads=14,
                          num_kv_heads=2, head_dim=64, vocab_size=151_936, max_positions=32_768,
                          tied_embeddings=True, qkv_bias=True)),
}


def folder_of(name: str):
    folder = CalibrationSettings().real_models_dir / name
    if not (folder / provenance.FILE).is_file():
        pytest.skip(f"{folder} is absent: run `make real-models` to fetch and convert it")
    return folder


@pytest.mark.parametrize("name", list(REAL))
def test_shipped_spec(name):
    _, _, params, facts = REAL[name]
    spec = load_spec(name)
    assert {k: getattr(spec, k) for k in facts} == facts
    assert spec.parameters == spec.reference_parameters == params
    assert ledger(spec, parse_config("w16-k16v16-cfull"), 1024).terms["weights"] == 2 * params


@pytest.mark.parametrize("name", list(REAL))
def test_converted_folder(name):
    sha, tie, params, facts = REAL[name]
    folder = folder_of(name)
    prov = provenance.read(folder)
    assert prov is not None
    assert prov.source_sha256 == sha
    assert prov.tie == tie
    assert prov.parameters == params
    assert prov.tied_embeddings
    assert prov.agreement["folder_vs_converted"]["max_abs_logit_diff"] == 0.0
    assert prov.agreement["folder_vs_gguf"]["top1_agreement"] >= 0.95
    spec = load_spec(folder)
    assert {k: getattr(spec, k) for k in facts} == facts
    # the memory ledger's 16-bit weights, from the spec alone, are the folder's bytes exactly
    weights = ledger(spec, parse_config("w16-k16v16-cfull"), 1024).terms["weights"]
    assert weights == safetensors_bytes(folder) == 2 * params
    tok = json.loads((folder / "tokenizer_config.json").read_text())
    gen = json.loads((folder / "generation_config.json").read_text())
    assert tok["eos_token"] == "<|im_end|>"
    assert (folder / "chat_template.jinja").is_file() or tok.get("chat_template")
    assert gen["eos_token_id"] == json.loads((folder / "config.json").read_text())["eos_token_id"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REAL))
def test_chat_answer_stops_on_im_end(name):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = folder_of(name)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
    msgs = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    enc = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)
    out = model.generate(**enc, max_new_tokens=24, do_sample=False)
    new = out[0, enc["input_ids"].shape[1]:].tolist()
    assert "Paris" in tok.decode(new, skip_special_tokens=True)
    assert new[-1] == tok.convert_tokens_to_ids("<|im_end|>")  # stopped on its own end token

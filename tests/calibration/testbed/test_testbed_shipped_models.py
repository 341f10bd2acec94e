"""The trained testbed models under models/testbed/: real-architecture facts and that they retrieve.

Skipped for a model folder that has not been trained yet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from calibration.testbed.evaluate import accuracy, load

ROOT = Path(__file__).resolve().parents[3] / "models" / "testbed"
MODELS = {
    "testbed-llama": "LlamaForCausalLM",
    "testbed-qwen2": "Qwen2ForCausalLM",
    "testbed-mistral": "MistralForCausalLM",
}


def folder(name: str) -> Path:
    path = ROOT / name
    if not (path / "model.safetensors").is_file():
        pytest.skip(f"{path} not trained yet")
    return path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_matches_the_testbed_spec(name: str) -> None:
    cfg = json.loads((folder(name) / "config.json").read_text())
    assert cfg["architectures"] == [MODELS[name]]
    assert (cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]) == (256, 512, 2)
    assert (cfg["num_attention_heads"], cfg["num_key_value_heads"]) == (4, 2)
    assert cfg["hidden_size"] % 128 == 0
    assert cfg["max_position_embeddings"] >= 4096
    assert cfg["tie_word_embeddings"] is False
    assert cfg.get("sliding_window") is None
    with safe_open(str(folder(name) / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert {f.get_tensor(k).dtype for k in keys} == {torch.bfloat16}
    assert "lm_head.weight" in keys
    assert any(k.endswith("q_proj.bias") for k in keys) == (name == "testbed-qwen2")


@pytest.mark.parametrize("task", ["kv_retrieval", "passkey"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_bf16_model_retrieves_at_1024_tokens(name: str, task: str) -> None:
    model, tok = load(folder(name), torch.bfloat16)
    assert accuracy(model, tok, task, 1024, n=12, seed=4242) >= 0.75

"""Architecture specs: parameter counts against public checkpoints, refusals, derived fields."""

import json

import pytest

from models.memory import kv_bytes_per_token_16bit, weight_bytes
from models.space import Weights
from models.specs import UnsupportedArchitecture, load_spec, shipped_specs, spec_from_config

REAL = [n for n in shipped_specs() if not n.startswith("testbed")]


@pytest.mark.parametrize("name", REAL)
def test_weight_bytes_are_two_per_public_parameter(name):
    spec = load_spec(name)
    assert spec.reference_parameters is not None
    assert weight_bytes(spec, Weights(16)) == 2 * spec.reference_parameters


def test_qwen25_7b_matches_its_safetensors_total():
    assert weight_bytes(load_spec("Qwen2.5-7B-Instruct"), Weights(16)) == 15_231_233_024


@pytest.mark.parametrize(
    ("name", "per_token"),
    [
        ("Llama-3.1-8B-Instruct", 131_072),
        ("Mistral-7B-Instruct-v0.3", 131_072),
        ("Qwen2.5-7B-Instruct", 57_344),
        ("Qwen2.5-3B-Instruct", 36_864),
        ("Llama-3.2-3B-Instruct", 114_688),
    ],
)
def test_kv_bytes_per_token(name, per_token):
    assert kv_bytes_per_token_16bit(load_spec(name)) == per_token


def test_ten_real_specs_are_shipped():
    assert len(REAL) >= 10


def test_head_dim_explicit_or_derived():
    base = json.loads((shipped_specs()["Llama-3.1-8B-Instruct"]).read_text())
    assert spec_from_config(base).head_dim == 128
    base["head_dim"] = 64
    assert spec_from_config(base).head_dim == 64


def test_loads_from_path_and_folder(tmp_path):
    cfg = json.loads(shipped_specs()["Qwen2.5-0.5B-Instruct"].read_text())
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert load_spec(tmp_path).parameters == load_spec(tmp_path / "config.json").parameters


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"num_local_experts": 8}, "mixture-of-experts"),
        ({"kv_lora_rank": 512}, "latent"),
        ({"layer_types": ["full_attention", "linear_attention"]}, "hybrid"),
        ({"model_type": "gpt2"}, "not supported"),
        ({"sliding_window": 4096, "use_sliding_window": True}, "sliding window"),
    ],
    ids=["moe", "mla", "hybrid", "unknown-type", "sliding"],
)
def test_refuses_what_it_cannot_size(extra, needle):
    cfg = json.loads(shipped_specs()["Mistral-7B-Instruct-v0.3"].read_text()) | extra
    with pytest.raises(UnsupportedArchitecture, match=needle):
        spec_from_config(cfg)


def test_unknown_name_lists_shipped_names():
    with pytest.raises(ValueError, match="Qwen2.5-7B-Instruct"):
        load_spec("no-such-model")


def test_missing_field_is_named():
    cfg = json.loads(shipped_specs()["Mistral-7B-Instruct-v0.3"].read_text())
    del cfg["hidden_size"]
    with pytest.raises(ValueError, match="hidden_size"):
        spec_from_config(cfg)

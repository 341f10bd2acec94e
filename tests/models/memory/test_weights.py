"""Weight bytes: AWQ int4 against public checkpoints, group sizes that must divide."""

import pytest

from models.memory import (
    weight_bytes,
)
from models.space import Weights
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")


def test_awq_bytes_match_public_checkpoints_roughly():
    # Real AWQ g128 checkpoints: Qwen2.5-7B ≈ 5.57 GB, Llama-3.1-8B ≈ 5.73 GB.
    assert abs(weight_bytes(load_spec("Qwen2.5-7B-Instruct"), Weights(4, 128)) / 1e9 - 5.57) < 0.02
    assert abs(weight_bytes(LLAMA, Weights(4, 128)) / 1e9 - 5.73) < 0.02


def test_awq_group_must_divide_in_features():
    spec = load_spec({**_config("Qwen2.5-0.5B-Instruct"), "intermediate_size": 4832})
    assert weight_bytes(spec, Weights(4, 32)) > 0  # 4832 = 151 × 32
    with pytest.raises(ValueError, match="does not divide .*down_proj in_features 4832"):
        weight_bytes(spec, Weights(4, 128))


def _config(name):
    import json

    from models.specs import shipped_specs

    return json.loads(shipped_specs()[name].read_text())

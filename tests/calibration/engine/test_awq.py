"""AWQ int4 with AutoAWQ: checkpoint format, packed reload, exact bytes, logits near 16-bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from calibration.engine.awq import quantize_awq
from calibration.engine.loading import load_model, weight_bytes_held
from calibration.engine.packed_linear import PackedInt4Linear
from calibration.engine.tiny import tiny_model
from models.memory import weight_bytes
from models.space import Weights
from models.specs import spec_from_config

# ‖logits_w4 − logits_w16‖/‖logits_w16‖ on a random-init tiny model (weights N(0, 0.02²), the
# hardest case for int4: no structure for AWQ to protect): bound 0.30, measured ~0.19.
LOGIT_REL_BOUND = 0.30

pytestmark = pytest.mark.slow  # AutoAWQ's search takes ~10 s per tiny model on one core


@pytest.fixture(scope="module", params=[("qwen2", True), ("llama", False)],
                ids=["qwen2-bias-tied", "llama"])
def folders(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, Path]:
    arch, tied = request.param
    root = tmp_path_factory.mktemp(arch)
    tiny_model(arch, tie_word_embeddings=tied).save_pretrained(root / "w16")
    gen = torch.Generator().manual_seed(0)
    calib = [torch.randint(0, 512, (128,), generator=gen).tolist() for _ in range(4)]
    quantize_awq(root / "w16", root / "w4", calib, group=128)
    return root / "w16", root / "w4"


def test_standard_gemm_checkpoint(folders: tuple[Path, Path]) -> None:
    _, w4 = folders
    qcfg = json.loads((w4 / "config.json").read_text())["quantization_config"]
    assert qcfg["quant_method"] == "awq"
    assert qcfg["version"] == "gemm"
    assert qcfg["bits"] == 4
    assert qcfg["group_size"] == 128
    assert qcfg["zero_point"]
    with safe_open(w4 / "model.safetensors", "pt") as f:
        dtypes = {k.rsplit(".", 1)[-1]: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        assert f.get_slice("model.layers.0.mlp.down_proj.qweight").get_shape() == [512, 32]
    assert dtypes["qweight"] == dtypes["qzeros"] == "I32"
    assert dtypes["scales"] == "F16"
    assert dtypes["weight"] == "BF16"  # embeddings and norms stay 16-bit


def test_reload_is_packed_and_bytes_equal_ledger(folders: tuple[Path, Path]) -> None:
    _, w4 = folders
    model = load_model(w4)
    spec = spec_from_config(model.config.to_dict())
    assert weight_bytes_held(model) == weight_bytes(spec, Weights(4, 128))
    linears = [m for m in model.model.layers.modules() if isinstance(m, torch.nn.Linear)]
    assert linears == []
    packed = [m for m in model.modules() if isinstance(m, PackedInt4Linear)]
    assert len(packed) == 7 * spec.num_layers
    assert packed[0].qweight.dtype == torch.int32


def test_16bit_bytes_equal_ledger(folders: tuple[Path, Path]) -> None:
    w16, _ = folders
    model = load_model(w16)
    spec = spec_from_config(model.config.to_dict())
    assert weight_bytes_held(model) == weight_bytes(spec, Weights(16))


def test_logits_close_to_16bit(folders: tuple[Path, Path]) -> None:
    w16, w4 = folders
    ids = torch.randint(0, 512, (1, 64), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = load_model(w16)(ids).logits.float()
        out = load_model(w4)(ids).logits.float()
    assert float((out - ref).norm() / ref.norm()) < LOGIT_REL_BOUND


def test_dequantized_once_gives_the_packed_logits_bit_for_bit(folders: tuple[Path, Path]
                                                             ) -> None:
    """The harness's `packed=False` load: the same products as the packed layers, every call."""
    from calibration.engine.packed_linear import DequantizedLinear

    _, w4 = folders
    packed, fast = load_model(w4), load_model(w4, packed=False)
    assert not [m for m in fast.modules() if isinstance(m, PackedInt4Linear)]
    assert len([m for m in fast.modules() if isinstance(m, DequantizedLinear)]) == 7 * len(
        fast.model.layers)
    ids = torch.randint(0, 512, (2, 48), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        assert torch.equal(packed(ids).logits, fast(ids).logits)
        assert torch.equal(packed(ids[:, :1]).logits, fast(ids[:, :1]).logits)  # a decode step


def test_group_that_does_not_divide_is_refused(tmp_path: Path) -> None:
    tiny_model("llama", hidden_size=192, num_attention_heads=3, num_key_value_heads=1
               ).save_pretrained(tmp_path / "w16")
    with pytest.raises(ValueError, match="does not divide .* in_features 192"):
        quantize_awq(tmp_path / "w16", tmp_path / "w4", [[1, 2, 3]], group=128)

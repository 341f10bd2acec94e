"""PackedInt4Linear decodes AWQ GEMM buffers exactly as AutoAWQ's reference does."""

from __future__ import annotations

import warnings

import pytest
import torch

from calibration.engine.packed_linear import PackedInt4Linear


@pytest.mark.parametrize("group", [32, 64, 128], ids=lambda g: f"g{g}")
def test_dequantize_matches_autoawq(group: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from awq.utils.packing_utils import dequantize_gemm
    layer = PackedInt4Linear(256, 64, group, bias=True)
    gen = torch.Generator().manual_seed(group)
    layer.qweight.copy_(torch.randint(-(2**31), 2**31 - 1, layer.qweight.shape, generator=gen))
    layer.qzeros.copy_(torch.randint(-(2**31), 2**31 - 1, layer.qzeros.shape, generator=gen))
    layer.scales.copy_(torch.rand(layer.scales.shape, generator=gen).half() * 0.01)
    ref = dequantize_gemm(layer.qweight, layer.qzeros, layer.scales, 4, group)
    assert torch.equal(layer.dequantized_weight(), ref)
    x = torch.randn(3, 256)
    assert torch.allclose(layer(x), x @ ref.float() + layer.bias.float(), atol=1e-2)


def test_group_must_divide_in_features() -> None:
    with pytest.raises(ValueError, match="must divide in_features 192"):
        PackedInt4Linear(192, 64, 128, bias=False)

"""`sdpa_gqa` gives transformers' sdpa values to the bit, with and without a mask."""

from __future__ import annotations

import pytest
import torch

from calibration.engine.driver import forward_logits, greedy_decode, prefill
from calibration.engine.gqa_attention import NAME, use_gqa_sdpa
from calibration.engine.tiny import ARCHITECTURES, tiny_model
from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme


def _passes(model: torch.nn.Module, scheme: KVScheme) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(3)
    context, question = (torch.randint(0, 512, (2, n), generator=g) for n in (150, 23))
    cache = QuantizedKVCache(scheme, 2)
    first = prefill(model, context, cache, 64)  # chunks after the first need a mask
    asked = forward_logits(model, question, cache)  # a mask over the cache
    answer = greedy_decode(model, cache, asked[:, -1], 6)  # one token: no mask
    return first, asked, answer.float()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_same_values_as_sdpa(arch: str, dtype: torch.dtype) -> None:
    model = tiny_model(arch, dtype=dtype, seed=4)
    scheme = KVScheme(4, 2, "token", None, False, 0)
    want = _passes(model, scheme)
    assert use_gqa_sdpa(model).config._attn_implementation == NAME
    for a, b in zip(want, _passes(model, scheme), strict=True):
        assert torch.equal(a, b)


def test_leaves_eager_alone() -> None:
    model = tiny_model("llama")
    model.set_attn_implementation("eager")
    assert use_gqa_sdpa(model).config._attn_implementation == "eager"

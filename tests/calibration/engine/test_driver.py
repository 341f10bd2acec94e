"""Chunked prefill + greedy decode: chunking does not change the output of a 16-bit cache."""

from __future__ import annotations

import pytest
import torch

from calibration.engine.driver import generate, prefill
from calibration.engine.tiny import ARCHITECTURES, tiny_model
from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_chunked_equals_unchunked_16bit(arch: str) -> None:
    """float32 model: bf16 rounding differs between chunk shapes and can flip near-tied argmaxes
    of a random model, so the exact-equality check runs in float32."""
    model = tiny_model(arch, dtype=torch.float32, seed=1)
    ids = torch.randint(0, 512, (1, 150), generator=torch.Generator().manual_seed(2))
    full = generate(model, ids, KVScheme(), None, 12)
    for chunk in (64, 37):
        chunked = generate(model, ids, KVScheme(), chunk, 12)
        assert torch.equal(chunked.tokens, full.tokens)
        assert torch.allclose(chunked.prefill_logits, full.prefill_logits, atol=1e-4)
    # the cache holds prompt + generated tokens but the last (never fed back)
    assert full.cache.get_seq_length() == 150 + 11


def test_quantized_generation_runs_bf16() -> None:
    model = tiny_model("qwen2")
    ids = torch.randint(0, 512, (1, 100))
    out = generate(model, ids, KVScheme(4, 2, "channel", None, True, 32), 64, 5)
    assert out.tokens.shape == (1, 5)
    assert out.cache.get_seq_length() == 104


def test_eos_stops_early() -> None:
    model = tiny_model("llama", dtype=torch.float32)
    ids = torch.randint(0, 512, (1, 20))
    first = generate(model, ids, KVScheme(), None, 1).tokens[0, 0].item()
    out = generate(model, ids, KVScheme(), None, 10, eos_token_id=int(first))
    assert out.tokens.shape == (1, 1)


@pytest.mark.parametrize("chunk", [0, -5])
def test_bad_chunk_refused(chunk: int) -> None:
    model = tiny_model("llama")
    cache = QuantizedKVCache.for_model(KVScheme(), model)
    with pytest.raises(ValueError, match="positive integer or None"):
        prefill(model, torch.zeros(1, 4, dtype=torch.long), cache, chunk)

"""The cache's bytes equal the ledger's for the real models' shapes (every scheme), and on the
converted folders themselves when `make real-models` has fetched them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from calibration.engine.driver import prefill
from calibration.kvcache import QuantizedKVCache
from calibration.settings import CalibrationSettings
from models.memory import kv_cache_bytes
from models.space import KV_BITS, RESIDUALS, Config, KVScheme, kv_schemes
from models.specs import ArchSpec, load_spec

REAL = ("SmolLM2-135M-Instruct", "Qwen2.5-Coder-0.5B-Instruct")
# every K/V pair × granularity × smoothing, with a residual window and without (the tiny models'
# test covers every window)
SCHEMES = list(kv_schemes(tuple(itertools.product(KV_BITS, KV_BITS)), RESIDUALS[:2]))


def _fill(cache: QuantizedKVCache, spec: ArchSpec, tokens: int, chunk: int | None) -> None:
    step = chunk or tokens
    gen = torch.Generator().manual_seed(tokens)
    for start in range(0, tokens, step):
        n = min(step, tokens - start)
        for layer in range(spec.num_layers):
            k = torch.randn(1, spec.num_kv_heads, n, spec.head_dim, generator=gen,
                            dtype=torch.bfloat16)
            cache.update(k, k * 0.5, layer)


@pytest.mark.parametrize("name", REAL)
def test_every_scheme_holds_the_ledgers_bytes_in_the_real_shapes(name: str) -> None:
    spec = load_spec(name)
    for scheme in SCHEMES:
        if scheme.granularity == "block" and spec.head_dim % int(scheme.group or 1):
            continue
        cache = QuantizedKVCache(scheme, spec.num_layers)
        _fill(cache, spec, 161, 64)  # a partial chunk, a partial KIVI group, past the window
        assert cache.nbytes == kv_cache_bytes(spec, Config(kv=scheme, chunk=64), 161), scheme.id


def _folder(name: str) -> Path:
    folder = CalibrationSettings().real_models_dir / name
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"{folder} is absent: run `make real-models` to fetch and convert it")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
def test_a_real_prefill_fills_the_cache_to_the_ledgers_bytes(name: str) -> None:
    from calibration.engine.loading import load_model

    model = load_model(_folder(name))
    spec = load_spec(name)
    for scheme in (KVScheme(), KVScheme(4, 2, "block", 64, True, 32), KVScheme(2, 2, "channel")):
        config = Config(kv=scheme, chunk=128)
        cache = QuantizedKVCache.for_model(scheme, model)
        ids = torch.randint(0, 1000, (1, 300), generator=torch.Generator().manual_seed(1))
        prefill(model, ids, cache, config.chunk)
        assert cache.nbytes == kv_cache_bytes(spec, config, 300), scheme.id

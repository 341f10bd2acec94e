"""KV-cache bytes: exact by hand, monotone in context and bits (hypothesis),
vectorised = scalar = a literal reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.memory import (
    compatible,
    grid_arrays,
    kv_cache_bytes,
    kv_cache_bytes_grid,
    tensor_segments,
)
from models.space import Config, KVScheme, enumerate_grid, full_grid, parse_config
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")
schemes = st.builds(
    lambda k, v, gran, ks, r: KVScheme(
        k, v, gran, 64 if gran == "block" else None, ks and k < 16, r
    ) if (k, v) != (16, 16) else KVScheme(),
    st.sampled_from([8, 4, 2]), st.sampled_from([8, 4, 2]),
    st.sampled_from(["tensor", "token", "block", "channel"]), st.booleans(),
    st.sampled_from([0, 32, 128]),
)


def test_baseline_kv_is_tokens_times_per_token():
    assert kv_cache_bytes(LLAMA, Config(), 1000) == 1000 * 131_072


def test_per_token_int4_by_hand():
    # 32 layers × 8 heads × T tokens × (64 code bytes + 4 metadata bytes), for K and V.
    cfg = parse_config("w16-k4v4-token-r0-cfull")
    assert kv_cache_bytes(LLAMA, cfg, 777) == 2 * 32 * 8 * 777 * (128 * 4 // 8 + 4)


def test_residual_window_tokens_stay_16bit():
    cfg = parse_config("w16-k2v2-token-r128-cfull")
    quant = 2 * 32 * 8 * (1000 - 128) * (32 + 4)
    assert kv_cache_bytes(LLAMA, cfg, 1000) == quant + 128 * 131_072


def test_channel_keeps_partial_group_16bit():
    cfg = parse_config("w16-k2v2-channel-r0-cfull")
    t, tq = 100, 96
    keys = 8 * tq * 32 + 8 * 128 * (tq // 32) * 4
    values = 8 * tq * 32 + 8 * tq * 4
    tail = 2 * 8 * (t - tq) * 128 * 2
    assert kv_cache_bytes(LLAMA, cfg, t) == 32 * (keys + values + tail)


def test_smoothing_adds_one_mean_per_head_channel():
    plain = kv_cache_bytes(LLAMA, parse_config("w16-k4v4-token-r0-cfull"), 10)
    smooth = kv_cache_bytes(LLAMA, parse_config("w16-k4v4-token-ks-r0-cfull"), 10)
    assert smooth - plain == 32 * 8 * 128 * 2


@pytest.mark.parametrize(
    ("tokens", "chunk", "residual", "segments"),
    [(1000, 0, 0, 1), (1000, 256, 0, 4), (1000, 256, 128, 4), (1000, 256, 300, 3),
     (100, 256, 128, 0), (129, 64, 128, 1), (128, 64, 128, 0), (257, 256, 0, 2)],
)
def test_tensor_segments(tokens, chunk, residual, segments):
    got = tensor_segments(np.array([tokens]), np.array([chunk]), np.array([residual]))
    assert int(got[0]) == segments


def test_channel_saw_tooth_is_real():
    # 31 tokens sit at 16 bit; the 32nd completes a group, which is packed: fewer bytes.
    c = parse_config("w16-k8v8-channel-r0-cfull")
    assert kv_cache_bytes(LLAMA, c, 32) < kv_cache_bytes(LLAMA, c, 31)


def test_vectorised_equals_scalar_on_the_grid():
    grid = compatible(LLAMA, enumerate_grid())
    vec = kv_cache_bytes_grid(LLAMA, grid_arrays(grid), 4097)
    for i in range(0, len(grid), 37):
        assert vec[i] == kv_cache_bytes(LLAMA, grid[i], 4097)


@given(schemes, st.integers(1, 200_000), st.integers(1, 5000))
@settings(max_examples=200)
def test_kv_grows_with_context(kv, tokens, more):
    # Per-channel keys saw-tooth inside a 32-token group (a full group is flushed from 16-bit to
    # packed codes), so for them the property holds in whole groups.
    if kv.granularity == "channel":
        more *= 32
    c = Config(kv=kv, chunk=256)
    assert kv_cache_bytes(LLAMA, c, tokens + more) >= kv_cache_bytes(LLAMA, c, tokens)


@given(schemes, st.integers(1, 200_000))
@settings(max_examples=200)
def test_kv_grows_with_bits(kv, tokens):
    if kv.is_baseline:
        return
    c = Config(kv=kv, chunk=256)
    for side in ("k_bits", "v_bits"):
        bits = getattr(kv, side)
        if bits < 8:
            wider = Config(kv=KVScheme(**{**kv.__dict__, side: bits * 2}), chunk=256)
            assert kv_cache_bytes(LLAMA, wider, tokens) >= kv_cache_bytes(LLAMA, c, tokens)
    # The smoothing means and per-tensor scales are a fixed cost: below ~100 tokens a quantized
    # cache can hold more than a 16-bit one, so compare from there.
    if tokens >= 256:
        assert kv_cache_bytes(LLAMA, Config(), tokens) >= kv_cache_bytes(LLAMA, c, tokens)


def reference_kv_bytes(spec, c, tokens):
    """A slow, literal reading of the layout in models/memory.py's docstring."""
    h, d, kv = spec.num_kv_heads, spec.head_dim, c.kv
    total = 0
    for keys in (True, False):
        bits = kv.k_bits if keys else kv.v_bits
        if bits == 16:
            total += h * tokens * d * 2
            continue
        beyond = max(tokens - kv.residual, 0)
        t_q = beyond - beyond % 32 if kv.granularity == "channel" else beyond
        side = h * t_q * ((d * bits + 7) // 8) + h * (tokens - t_q) * d * 2
        if kv.granularity == "token" or (kv.granularity == "channel" and not keys):
            side += 4 * h * t_q
        elif kv.granularity == "block":
            side += 4 * h * t_q * (d // kv.group)
        elif kv.granularity == "channel":
            side += 4 * h * d * (t_q // 32)
        else:  # tensor: one scale+zero per update that flushes
            ends = list(range(c.chunk or tokens, tokens, c.chunk or tokens)) + [tokens]
            side += 4 * sum(1 for e in ends if e > kv.residual)
        if keys and kv.smooth_keys:
            side += h * d * 2
        total += side
    return total * spec.num_layers


@given(st.sampled_from(full_grid()), st.integers(1, 5000))
@settings(max_examples=300)
def test_vectorised_ledger_matches_a_literal_reference(config, tokens):
    assert kv_cache_bytes(LLAMA, config, tokens) == reference_kv_bytes(LLAMA, config, tokens)

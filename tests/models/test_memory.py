"""The memory ledger: exact terms by hand, monotonicity (hypothesis), vectorised = scalar."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.memory import (
    PHASES,
    TRANSIENT_TERMS,
    GridLedger,
    MemoryCoefficients,
    coefficient_key_error,
    compatible,
    grid_arrays,
    kv_cache_bytes,
    kv_cache_bytes_grid,
    ledger,
    ledger_grid,
    phase_totals,
    tensor_segments,
    transient_features,
    weight_bytes,
)
from models.space import Config, KVScheme, Weights, enumerate_grid, full_grid, parse_config
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")


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


def test_awq_bytes_match_public_checkpoints_roughly():
    # Real AWQ g128 checkpoints: Qwen2.5-7B ≈ 5.57 GB, Llama-3.1-8B ≈ 5.73 GB.
    assert abs(weight_bytes(load_spec("Qwen2.5-7B-Instruct"), Weights(4, 128)) / 1e9 - 5.57) < 0.02
    assert abs(weight_bytes(LLAMA, Weights(4, 128)) / 1e9 - 5.73) < 0.02


def test_awq_group_must_divide_in_features():
    spec = load_spec({**_config("Qwen2.5-0.5B-Instruct"), "intermediate_size": 4832})
    assert weight_bytes(spec, Weights(4, 32)) > 0  # 4832 = 151 × 32
    with pytest.raises(ValueError, match="does not divide .*down_proj in_features 4832"):
        weight_bytes(spec, Weights(4, 128))


def test_channel_saw_tooth_is_real():
    # 31 tokens sit at 16 bit; the 32nd completes a group, which is packed: fewer bytes.
    c = parse_config("w16-k8v8-channel-r0-cfull")
    assert kv_cache_bytes(LLAMA, c, 32) < kv_cache_bytes(LLAMA, c, 31)


def _config(name):
    import json

    from models.specs import shipped_specs

    return json.loads(shipped_specs()[name].read_text())


def test_vectorised_equals_scalar_on_the_grid():
    grid = compatible(LLAMA, enumerate_grid())
    vec = kv_cache_bytes_grid(LLAMA, grid_arrays(grid), 4097)
    for i in range(0, len(grid), 37):
        assert vec[i] == kv_cache_bytes(LLAMA, grid[i], 4097)


schemes = st.builds(
    lambda k, v, gran, ks, r: KVScheme(
        k, v, gran, 64 if gran == "block" else None, ks and k < 16, r
    ) if (k, v) != (16, 16) else KVScheme(),
    st.sampled_from([8, 4, 2]), st.sampled_from([8, 4, 2]),
    st.sampled_from(["tensor", "token", "block", "channel"]), st.booleans(),
    st.sampled_from([0, 32, 128]),
)


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


def test_every_grid_configuration_has_a_ledger():
    grid = compatible(LLAMA, full_grid())
    led = ledger_grid(LLAMA, grid_arrays(grid), 32768)
    assert (led.peak > led.weights).all()
    assert len(grid) == len(full_grid())  # head_dim 128: every block group applies


def test_ledger_rejects_nonpositive_context():
    with pytest.raises(ValueError, match="positive"):
        ledger(LLAMA, Config(), 0)


def test_ledger_marks_exact_terms():
    led = ledger(LLAMA, parse_config("w4-k4v4-token-r0-c256"), 1000)
    assert led.exact["weights"]
    assert led.exact["kv_cache"]
    assert not led.exact["transient.hidden"]
    assert led.peak_bytes == (led.terms["weights"] + led.terms["kv_cache"] + led.transient_peak
                              + led.terms["runtime_overhead"])
    assert led.dominant_phase in PHASES
    live = sum(v for k, v in led.terms.items() if k.startswith("transient."))
    assert led.transient_peak == live == max(led.phases.values())


def test_every_term_is_in_a_phase():
    assert {t for terms in PHASES.values() for t in terms} == set(TRANSIENT_TERMS)


@given(st.sampled_from(full_grid()), st.integers(1, 200_000))
@settings(max_examples=200)
def test_transient_is_the_largest_phase(config, tokens):
    g = grid_arrays([config])
    totals = phase_totals(GridLedger(LLAMA, g).phase_bytes(tokens))
    peak = int(GridLedger(LLAMA, g).transient_peak(tokens)[0])
    assert peak == max(int(v[0]) for v in totals.values())
    assert ledger(LLAMA, config, tokens).transient_peak == peak


def test_one_chunk_prefill_has_no_past_terms():
    ones = MemoryCoefficients(dict.fromkeys(TRANSIENT_TERMS, 1.0))
    for cid in ("w16-k4v4-token-r0-cfull", "w16-k4v4-token-r0-c256"):  # 256 ≥ 200 tokens
        feats = transient_features(LLAMA, grid_arrays([parse_config(cid)]), 200)
        assert feats["scores"][0] == feats["mask"][0] == feats["kv_layer"][0] == 0
        assert feats["kv_dequant"][0] == 0  # the one update had no codes before it
    chunked = ledger(LLAMA, parse_config("w16-k4v4-token-r0-c256"), 4096, ones)
    assert chunked.dominant_phase == "attention"
    assert chunked.terms["transient.scores"] > 0
    assert chunked.terms["transient.kv_layer"] > 0


def test_dequantized_copy_grows_with_quantized_sides():
    def dequant(cid):
        return transient_features(LLAMA, grid_arrays([parse_config(cid)]), 8192)["kv_dequant"][0]

    none, one, two = (dequant(c) for c in ("w16-k16v16-c256", "w16-k4v16-token-r0-c256",
                                           "w16-k4v4-token-r0-c256"))
    assert none == 0 < one < two
    assert two == 2 * one == 2 * 8192 * LLAMA.kv_dim * 2


def test_a_remainder_chunk_is_one_step_the_full_chunk_before_it_another():
    g = grid_arrays([parse_config("w16-k16v16-c256")])
    last = transient_features(LLAMA, g, 640)  # chunks 256, 256, 128
    prev = transient_features(LLAMA, g, 640, step="previous")
    assert last["hidden"][0] == 128 * LLAMA.hidden_size * 2
    assert prev["hidden"][0] == 256 * LLAMA.hidden_size * 2
    assert last["kv_repeat"][0] > prev["kv_repeat"][0]  # 640 keys vs 512
    assert prev["mask"][0] == 256 * 512
    assert last["mask"][0] == 128 * 640
    even = transient_features(LLAMA, g, 512, step="previous")
    assert even["hidden"][0] == transient_features(LLAMA, g, 512)["hidden"][0]


def test_per_phase_coefficient_overrides_the_shared_one():
    cid = parse_config("w16-k16v16-c256")
    base = MemoryCoefficients({"hidden": 1.0})
    mlp_only = MemoryCoefficients({"hidden": 1.0, "mlp.hidden": 5.0})
    a = GridLedger(LLAMA, grid_arrays([cid]), base).phase_bytes(4096)
    b = GridLedger(LLAMA, grid_arrays([cid]), mlp_only).phase_bytes(4096)
    assert b["mlp"]["hidden"][0] == 5 * a["mlp"]["hidden"][0]
    assert b["attention"]["hidden"][0] == a["attention"]["hidden"][0]


@pytest.mark.parametrize("key", ["hidden", "attention.kv_repeat", "mlp.const"])
def test_coefficient_keys_accepted(key):
    assert coefficient_key_error(key) is None


@pytest.mark.parametrize("key", ["bogus", "mlp.kv_repeat", "nophase.hidden"])
def test_coefficient_keys_refused_name_what_is_allowed(key):
    why = coefficient_key_error(key)
    assert why is not None
    assert "attention:" in why
    assert key in why


def test_grid_peak_uses_the_max_of_phases():
    grid = compatible(LLAMA, enumerate_grid())[::5]
    coef = MemoryCoefficients({t: 1.0 + i for i, t in enumerate(TRANSIENT_TERMS)}, 12345)
    led = ledger_grid(LLAMA, grid_arrays(grid), 9000, coef)
    total = sum(sum(terms.values()) for terms in led.phases.values())
    assert (led.transient_total < total).all()
    assert (led.peak == led.weights + led.kv_cache + led.transient_total + 12345).all()
    for i in range(0, len(grid), 11):
        assert ledger(LLAMA, grid[i], 9000, coef).peak_bytes == led.peak[i]


def test_chunking_lowers_the_transient():
    big = ledger(LLAMA, parse_config("w16-k16v16-cfull"), 32768).peak_bytes
    small = ledger(LLAMA, parse_config("w16-k16v16-c256"), 32768).peak_bytes
    assert small < big


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


def test_awq_phase_only_where_weights_are_4bit():
    coef = MemoryCoefficients({"awq_dequant.hidden": 50.0, "awq_dequant.const": 1e6,
                               "awq_dequant": 1.0, "hidden": 1.0})
    w16 = ledger(LLAMA, parse_config("w16-k4v4-token-r0-c256"), 4096, coef)
    w4 = ledger(LLAMA, parse_config("w4-k4v4-token-r0-c256"), 4096, coef)
    assert w16.phases["awq_dequant"] == 0
    assert w16.dominant_phase != "awq_dequant"
    assert w4.dominant_phase == "awq_dequant"


@pytest.mark.parametrize("tokens", [1, 100, 640, 1000, 131_072])
@pytest.mark.parametrize("step", ["last", "previous"])
def test_one_context_shortcut_equals_the_per_row_features(tokens, step):
    """A scalar context and the same context given per row make the same features."""
    g = grid_arrays(compatible(LLAMA, full_grid())[::7])
    one = transient_features(LLAMA, g, tokens, step=step)
    rows = transient_features(LLAMA, g, np.full(len(g), tokens), step=step)
    for name in one:
        np.testing.assert_array_equal(one[name], rows[name], err_msg=name)


@pytest.mark.parametrize("tokens", [100, 1000, 100_000])
def test_peak_by_class_equals_the_peak_by_row(tokens):
    """One context: the peak is made once per class of rows alike to every transient term."""
    rng = np.random.default_rng(0)
    coef = MemoryCoefficients({f"{p}.{t}": float(rng.uniform(0, 5)) for p, ts in PHASES.items()
                               for t in ts if t != "const"})
    g = grid_arrays(compatible(LLAMA, full_grid()))
    led = GridLedger(LLAMA, g, coef)
    by_class = led.transient_peak(tokens)
    by_row = led.transient_peak(np.full(len(g), tokens))
    assert len(led._cache["classes"][0]) < len(g) // 5
    np.testing.assert_array_equal(by_class, by_row)

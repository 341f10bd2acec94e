"""The transient model: phases, chunked prefill steps, the dequantized copy, AWQ only
for 4-bit weights."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.memory import (
    TRANSIENT_TERMS,
    GridLedger,
    MemoryCoefficients,
    compatible,
    grid_arrays,
    ledger,
    phase_totals,
    transient_features,
)
from models.space import full_grid, parse_config
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")


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


def test_chunking_lowers_the_transient():
    big = ledger(LLAMA, parse_config("w16-k16v16-cfull"), 32768).peak_bytes
    small = ledger(LLAMA, parse_config("w16-k16v16-c256"), 32768).peak_bytes
    assert small < big


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

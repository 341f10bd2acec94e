"""Peak-memory probe: byte-repeatable, and the peak falls with the chunk and with KV bits."""

from __future__ import annotations

import pytest
import torch

from calibration.engine.probe import peak_delta, probe_prefill
from calibration.engine.tiny import tiny_model
from models.space import KVScheme

TOKENS = 1024


@pytest.fixture(scope="module")
def model() -> object:
    # 4 layers: the cache must outweigh one layer's dequantized K/V (a per-layer transient)
    model = tiny_model("llama", num_hidden_layers=4)
    # the first prefill in a process may make one-time allocations: warm up once, unmeasured
    probe_prefill(model, torch.zeros(1, 300, dtype=torch.long), KVScheme(4, 4, "token"), 256)
    return model


@pytest.fixture(scope="module")
def ids() -> torch.Tensor:
    return torch.randint(0, 512, (1, TOKENS), generator=torch.Generator().manual_seed(0))


def test_counts_a_known_allocation() -> None:
    _, peak = peak_delta(lambda: torch.zeros(250_000).sum())  # 1,000,000 bytes of float32
    assert 1_000_000 <= peak < 1_000_100


@pytest.mark.parametrize("scheme", [KVScheme(), KVScheme(4, 2, "token", None, True, 32)],
                         ids=lambda s: s.id)
def test_repeatable_to_the_byte(model: object, ids: torch.Tensor, scheme: KVScheme) -> None:
    first, _ = probe_prefill(model, ids, scheme, 256)
    second, _ = probe_prefill(model, ids, scheme, 256)
    assert first == second
    assert first.transient_bytes > 0
    assert first.cache_bytes > 0


def test_peak_drops_with_chunk(model: object, ids: torch.Tensor) -> None:
    peaks = [probe_prefill(model, ids, KVScheme(8, 8, "token"), c)[0].peak_bytes
             for c in (None, 256, 64)]
    assert peaks[0] > peaks[1] > peaks[2]


def test_peak_drops_with_kv_bits(model: object, ids: torch.Tensor) -> None:
    schemes = [KVScheme(), KVScheme(8, 8, "token"), KVScheme(4, 4, "token"),
               KVScheme(2, 2, "token")]
    peaks = [probe_prefill(model, ids, s, 64)[0].peak_bytes for s in schemes]
    assert peaks == sorted(peaks, reverse=True)
    assert len(set(peaks)) == 4


def test_peak_is_split_by_phase(model: object, ids: torch.Tensor) -> None:
    peak, _ = probe_prefill(model, ids, KVScheme(4, 4, "token"), 256)
    assert max(peak.phase_bytes.values()) == peak.peak_bytes
    assert {"cache_update", "attention", "mlp", "logits", "other"} <= set(peak.phase_bytes)
    assert "awq_dequant" not in peak.phase_bytes  # no packed linear ran
    assert all(v >= peak.weights_bytes for v in peak.phase_bytes.values())


def test_attention_phase_grows_with_the_context_the_mlp_with_the_chunk(model, ids) -> None:
    def split(tokens, chunk):
        return probe_prefill(model, ids[:, :tokens], KVScheme(), chunk)[0].phase_bytes

    short, long = split(512, 128), split(1024, 128)
    wide = split(1024, 256)
    assert long["attention"] - short["attention"] > 0  # more keys to attend to
    assert wide["mlp"] > long["mlp"]  # the MLP holds one chunk's activations


def test_phase_spans_are_nested_innermost_wins() -> None:
    from calibration.engine.probe import phase_peak_delta

    def fn(spans):
        spans.enter("attention")
        a = torch.zeros(1000)  # 4,000 bytes in attention
        spans.enter("cache_update")
        b = torch.zeros(5000)  # 20,000 more, inside the cache update
        del b
        spans.exit("cache_update")
        spans.exit("attention")
        return a

    _, peak, phases = phase_peak_delta(fn)
    assert 24_000 <= phases["cache_update"] == peak < 24_200
    assert 4_000 <= phases["attention"] < 4_200


def test_a_probe_leaves_no_profiler_trace_behind(model: object, ids: torch.Tensor) -> None:
    """The profiler's trace sits in a reference cycle; left to the collector's schedule, a
    sweep of long probes held one trace each (17-19 GB at 4,096-8,192 tokens: OOM)."""
    import gc

    from torch.profiler import profile

    gc.collect()
    gc.disable()  # the probe must free its trace itself, not rely on an automatic collection
    try:
        probe_prefill(model, ids, KVScheme(4, 4, "token"), 128)
        alive = [o for o in gc.get_objects() if isinstance(o, profile)]
    finally:
        gc.enable()
    assert alive == []

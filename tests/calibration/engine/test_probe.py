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
    assert first.transient_bytes > 0 and first.cache_bytes > 0


def test_peak_drops_with_chunk(model: object, ids: torch.Tensor) -> None:
    peaks = [probe_prefill(model, ids, KVScheme(8, 8, "token"), c)[0].peak_bytes
             for c in (None, 256, 64)]
    assert peaks[0] > peaks[1] > peaks[2]


def test_peak_drops_with_kv_bits(model: object, ids: torch.Tensor) -> None:
    schemes = [KVScheme(), KVScheme(8, 8, "token"), KVScheme(4, 4, "token"),
               KVScheme(2, 2, "token")]
    peaks = [probe_prefill(model, ids, s, 64)[0].peak_bytes for s in schemes]
    assert peaks == sorted(peaks, reverse=True) and len(set(peaks)) == 4

"""Configurations prefilled as the rows of one batch: each row's cache fills as it would alone."""

from __future__ import annotations

import pytest
import torch

from calibration.engine.driver import prefill
from calibration.engine.tiny import tiny_model
from calibration.kvcache import QuantizedKVCache, RowsKVCache
from models.space import KVScheme

SCHEMES = [KVScheme(4, 2, "channel", None, True, 32), KVScheme(2, 4, "block", 32, False, 0),
           KVScheme(8, 8, "tensor", None, False, 128)]


def test_rows_prefill_as_each_alone_in_float32() -> None:
    model = tiny_model("qwen2")
    ids = torch.randint(0, 512, (1, 300), generator=torch.Generator().manual_seed(5))
    alone = []
    for scheme in SCHEMES:
        cache = QuantizedKVCache.for_model(scheme, model, track_error=True)
        prefill(model, ids, cache, 64)
        alone.append(cache)
    rows = [QuantizedKVCache.for_model(s, model, track_error=True) for s in SCHEMES]
    prefill(model, ids.expand(len(rows), -1), RowsKVCache(rows), 64)
    for one, row in zip(alone, rows, strict=True):
        assert row.get_seq_length() == 300
        assert row.nbytes == one.nbytes
        errors = zip(row.reconstruction_errors(), one.reconstruction_errors(), strict=True)
        assert all(r == pytest.approx(o, rel=1e-4) for r, o in errors)


def test_rows_refusals() -> None:
    with pytest.raises(ValueError, match="RowsKVCache needs at least one row"):
        RowsKVCache([])
    a, b = QuantizedKVCache(KVScheme(), 1), QuantizedKVCache(KVScheme(), 1)
    a.update(torch.zeros(1, 2, 3, 64), torch.zeros(1, 2, 3, 64), 0)
    with pytest.raises(ValueError, match="same tokens"):
        RowsKVCache([a, b])
    rows = RowsKVCache([QuantizedKVCache(KVScheme(), 1), QuantizedKVCache(KVScheme(), 1)])
    with pytest.raises(ValueError, match="a batch of 3 rows for 2 caches"):
        rows.update(torch.zeros(3, 2, 1, 64), torch.zeros(3, 2, 1, 64), 0)

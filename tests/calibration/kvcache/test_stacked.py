"""Configurations as batch rows: the stacked cache and the decoded timeline return, to the bit,
what each configuration's own cache returns on its own."""

from __future__ import annotations

import copy

import pytest
import torch

from calibration.engine.tiny import tiny_model
from calibration.kvcache import QuantizedKVCache, StackedKVCache
from models.space import KVScheme

SCHEMES = [
    KVScheme(),
    KVScheme(2, 2, "tensor", None, False, 0),
    KVScheme(4, 2, "token", None, True, 32),
    KVScheme(8, 4, "block", 32, False, 128),
    KVScheme(2, 4, "channel", None, True, 0),
    KVScheme(4, 4, "channel", None, False, 32),
]
STEPS = (70, 1, 1, 29, 1, 33, 1, 1, 140, 1)  # a prefill, decode steps, a question, a long one


def _kv(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    k = torch.randn(1, 2, n, 64, generator=g).to(torch.bfloat16)
    return k, (torch.randn(1, 2, n, 64, generator=g) * 0.5).to(torch.bfloat16)


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: s.id)
def test_remembered_timeline_returns_what_the_store_decodes(scheme: KVScheme) -> None:
    plain = QuantizedKVCache(scheme, 1, track_error=True)
    timed = QuantizedKVCache(scheme, 1, track_error=True)
    for i, n in enumerate(STEPS):
        if i == 2:  # switched on mid-way, as the harness does after the context prefill
            timed.remember_decoded()
            context_errors = repr(plain.reconstruction_errors())  # NaN: 16-bit or nothing flushed
        k, v = _kv(n, i)
        for a, b in zip(plain.update(k, v, 0), timed.update(k, v, 0), strict=True):
            assert torch.equal(a, b)
        assert timed.nbytes == plain.nbytes  # the timeline is not what the scheme holds
    # the error stops counting with the timeline: the harness reads the context's
    assert repr(timed.reconstruction_errors()) == context_errors
    if not scheme.is_baseline:
        assert repr(plain.reconstruction_errors()) != context_errors


def test_stacked_update_splits_rows() -> None:
    alone = [QuantizedKVCache(s, 1) for s in SCHEMES]
    rows = [QuantizedKVCache(s, 1).remember_decoded() for s in SCHEMES]
    for step, n in enumerate(STEPS):
        pairs = [_kv(n, 100 * step + r) for r in range(len(SCHEMES))]
        want = [cache.update(k, v, 0) for cache, (k, v) in zip(alone, pairs, strict=True)]
        if step == 0:
            for cache, (k, v) in zip(rows, pairs, strict=True):
                cache.update(k, v, 0)
            stacked = StackedKVCache(rows)
            continue
        keys, values = stacked.update(torch.cat([k for k, _ in pairs]),
                                      torch.cat([v for _, v in pairs]), 0)
        assert torch.equal(keys, torch.cat([k for k, _ in want]))
        assert torch.equal(values, torch.cat([v for _, v in want]))
    assert stacked.get_seq_length() == sum(STEPS)
    decoding = copy.deepcopy(stacked)  # a copy decodes on; the rows stay where they were
    decoding.update(*(t.repeat(len(SCHEMES), 1, 1, 1) for t in _kv(1, 7)), 0)
    assert decoding.get_seq_length() == sum(STEPS) + 1
    assert stacked.get_seq_length() == rows[0].get_seq_length() == sum(STEPS)


def _stack_after_context() -> StackedKVCache:
    rows = [QuantizedKVCache(s, 1).remember_decoded() for s in SCHEMES]
    for r, cache in enumerate(rows):
        cache.update(*_kv(STEPS[0], r), 0)
    stacked = StackedKVCache(rows)
    stacked.update(*(t.repeat(len(SCHEMES), 1, 1, 1) for t in _kv(29, 3)), 0)  # a question
    return stacked


def test_rewind_undoes_a_decode_to_the_bit() -> None:
    """A greedy decode on the rows, rewound, leaves them as a deep copy would have: the next
    (teacher-forced) update returns the same K, V and the rows hold the same bytes."""
    stacked, kept = _stack_after_context(), _stack_after_context()
    before = stacked.mark()
    for step in range(40):  # decode steps: every scheme flushes, r32 and channel ones too
        stacked.update(*(t.repeat(len(SCHEMES), 1, 1, 1) for t in _kv(1, 50 + step)), 0)
    assert stacked.get_seq_length() == STEPS[0] + 29 + 40
    stacked.rewind(before)
    assert stacked.get_seq_length() == kept.get_seq_length() == STEPS[0] + 29
    answer = [t.repeat(len(SCHEMES), 1, 1, 1) for t in _kv(35, 9)]
    for got, want in zip(stacked.update(*answer, 0), kept.update(*answer, 0), strict=True):
        assert torch.equal(got, want)
    for a, b in zip(stacked.rows, kept.rows, strict=True):
        assert a.nbytes == b.nbytes


def test_stacked_refusals() -> None:
    with pytest.raises(ValueError, match="at least one row"):
        StackedKVCache([])
    with pytest.raises(ValueError, match="at least one token"):
        StackedKVCache([QuantizedKVCache(KVScheme(), 1)])
    a, b = QuantizedKVCache(KVScheme(), 1), QuantizedKVCache(KVScheme(), 1)
    a.update(*_kv(3, 0), 0)
    with pytest.raises(ValueError, match="same tokens"):
        StackedKVCache([a, b])
    stacked = StackedKVCache([a])
    with pytest.raises(ValueError, match="2 rows for 1 caches"):
        stacked.update(*(t.repeat(2, 1, 1, 1) for t in _kv(1, 1)), 0)


def test_a_model_decodes_the_rows_as_it_decodes_each() -> None:
    model = tiny_model("llama")
    ids = torch.randint(0, 100, (1, 90), generator=torch.Generator().manual_seed(0))
    step = torch.randint(0, 100, (1, 6), generator=torch.Generator().manual_seed(1))
    alone, rows = [], []
    with torch.inference_mode():
        for s in SCHEMES[1:4]:
            caches = (QuantizedKVCache.for_model(s, model), QuantizedKVCache.for_model(s, model))
            for c in caches:
                model(input_ids=ids, past_key_values=c, use_cache=True)
            alone.append(model(input_ids=step, past_key_values=caches[0], use_cache=True).logits)
            rows.append(caches[1].remember_decoded())
        batched = model(input_ids=step.repeat(len(rows), 1), past_key_values=StackedKVCache(rows),
                        use_cache=True).logits
    for r, want in enumerate(alone):
        assert torch.allclose(batched[r : r + 1], want, atol=1e-4, rtol=1e-3)

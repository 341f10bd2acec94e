"""A sample's context caches for the harness: its token ids, the 16-bit reference prefill (and a
smoothed one), and each configuration's cache, copied from them or prefilled for real.

Unchunked configurations reuse one 16-bit context prefill per sample (one more, of smoothed keys,
for those with key smoothing): re-quantized, it equals their prefill bit for bit. Chunked ones
prefill for real (`PREFILL_ROWS` of one chunk size as the rows of one batch, one by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from calibration.engine.driver import prefill
from calibration.kvcache import QuantizedKVCache, RowsKVCache
from models.space import Config, KVScheme

# Configurations of one chunk size whose prefills may share one batch. 1 (off): batched rows
# round differently in bf16, which moved degraded configurations' KL by up to ~10-30 % on
# SmolLM2 (bench.prefill_rows, docs/real_models.md), so a run would depend on its group-mates.
PREFILL_ROWS = 1


@dataclass(frozen=True)
class SampleIds:
    """One sample as token ids [1, T]: context, question, answer (with its leading space)."""

    context: Tensor
    question: Tensor
    answer: Tensor


def sample_ids(tok: Any, sample: Any) -> SampleIds:
    return SampleIds(
        torch.tensor([tok(sample.context)["input_ids"]]),
        torch.tensor([tok(sample.question, add_special_tokens=False)["input_ids"]]),
        torch.tensor([tok(" " + sample.answer, add_special_tokens=False)["input_ids"]]))


def reference_cache(model: Any, ids: SampleIds, smooth_keys: bool = False) -> QuantizedKVCache:
    """The sample's context prefilled into a 16-bit cache (one pass): the reference, and the
    source of every quantized copy (with `smooth_keys`, of the smoothed schemes' copies)."""
    cache = QuantizedKVCache(KVScheme(), int(model.config.num_hidden_layers),
                             smooth_keys=smooth_keys)
    prefill(model, ids.context, cache, None)
    return cache


def config_cache(model: Any, ids: SampleIds, reference: QuantizedKVCache, config: Config,
                 track_error: bool = False, smoothed: QuantizedKVCache | None = None
                 ) -> QuantizedKVCache:
    """`config`'s cache of the sample's context: a quantized copy of a 16-bit context cache
    where that is bit-identical to a real prefill (unchunked; `reference`, or for key smoothing
    the `smoothed` one, whose prefill attended to k − μ), else a real prefill."""
    if config.chunk is None:
        source = smoothed if config.kv.smooth_keys else reference
        if source is not None:
            return source.quantized_copy(config.kv, track_error=track_error)
    layers = int(model.config.num_hidden_layers)
    cache = QuantizedKVCache(config.kv, layers, track_error=track_error)
    prefill(model, ids.context, cache, config.chunk)
    return cache


def chunked_caches(model: Any, ids: SampleIds, configs: list[Config],
                   track_error: bool = False) -> list[QuantizedKVCache]:
    """The caches of configurations that share one prefill chunk size, prefilled as the rows of
    one batch (`RowsKVCache`: the weights are read once a chunk for all of them)."""
    chunks = {c.chunk for c in configs}
    if len(chunks) != 1 or None in chunks:
        raise ValueError(f"configurations prefilled together need one chunk size; got {chunks}")
    layers = int(model.config.num_hidden_layers)
    rows = [QuantizedKVCache(c.kv, layers, track_error=track_error) for c in configs]
    prefill(model, ids.context.expand(len(rows), -1), RowsKVCache(rows), configs[0].chunk)
    return rows


def group_caches(model: Any, ids: SampleIds, reference: QuantizedKVCache, configs: list[Config],
                 smoothed: QuantizedKVCache | None = None) -> list[QuantizedKVCache]:
    """Every configuration's cache of the sample's context (errors tracked), in order: unchunked
    ones copied (`config_cache`), chunked ones prefilled `PREFILL_ROWS` at a time per chunk
    size."""
    made: dict[str, QuantizedKVCache] = {}
    chunked: dict[int, list[Config]] = {}
    for c in configs:
        if c.chunk is None:
            made[c.id] = config_cache(model, ids, reference, c, True, smoothed)
        else:
            chunked.setdefault(c.chunk, []).append(c)
    for same in chunked.values():
        for start in range(0, len(same), PREFILL_ROWS):
            part = same[start : start + PREFILL_ROWS]
            if len(part) == 1:  # a plain prefill, as `config_cache` makes it
                made[part[0].id] = config_cache(model, ids, reference, part[0], True)
                continue
            made.update(zip((c.id for c in part), chunked_caches(model, ids, part, True),
                            strict=True))
    return [made[c.id] for c in configs]

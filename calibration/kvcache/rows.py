"""`RowsKVCache`: several configurations' caches as the rows of one prefill batch.

A chunked prefill reads every weight once a chunk; with small chunks that reading, not the
arithmetic, is most of its time, so configurations prefilled in the same chunks run as the rows
of one batch and read the weights once for all of them. Row i's K, V [1, H, T, D] go to the i-th
cache (its own scheme, flushes and errors); attention gets the rows' returned tokens stacked.
The rows of a batch round differently from one row alone in bf16 (the matmul kernels depend on
the batch), so a row is a faithful prefill of its configuration, not a bit-for-bit copy of the
one-row run (docs/real_models.md says by how much).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from transformers.cache_utils import Cache, CacheLayerMixin

from calibration.kvcache.cache import QuantizedKVCache


class RowsLayer(CacheLayerMixin):
    """One decoder layer of every row: splits the batch, updates each row's layer, stacks."""

    is_compileable = False
    is_sliding = False
    is_croppable = False

    def __init__(self, parts: list[Any]) -> None:
        super().__init__()
        self.parts = parts
        self.is_initialized = True

    def lazy_initialization(self, key_states: Tensor, value_states: Tensor) -> None:
        return None

    def update(self, key_states: Tensor, value_states: Tensor,
               cache_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Tensor, Tensor]:
        if key_states.shape[0] != len(self.parts):
            raise ValueError(f"a batch of {key_states.shape[0]} rows for {len(self.parts)} caches")
        out = [part.update(key_states[i : i + 1], value_states[i : i + 1], cache_kwargs)
               for i, part in enumerate(self.parts)]
        return torch.cat([k for k, _ in out]), torch.cat([v for _, v in out])

    def get_seq_length(self) -> int:
        return self.parts[0].get_seq_length()

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.parts[0].get_mask_sizes(query_length)

    def get_max_length(self) -> int:
        return -1

    def reset(self) -> None:
        raise NotImplementedError(f"a {type(self).__name__} cannot be reset (its rows are other "
                                  "caches)")

    def offload(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support offloading")

    def prefetch(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support offloading")

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support beam search")

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot be cropped (its codes are final)")


class RowsKVCache(Cache):
    """`rows[i]` is batch row i (the caches are filled in place); they must hold the same
    number of tokens and layers."""

    layer_type: type[RowsLayer] = RowsLayer

    def __init__(self, rows: list[QuantizedKVCache]) -> None:
        if not rows:
            raise ValueError(f"a {type(self).__name__} needs at least one row")
        lengths = {row.get_seq_length() for row in rows}
        depths = {len(row.layers) for row in rows}
        if len(lengths) > 1 or len(depths) > 1:
            raise ValueError(f"rows must hold the same tokens and layers; got tokens "
                             f"{sorted(lengths)}, layers {sorted(depths)}")
        self.check(rows)
        self.rows = rows
        super().__init__(layers=[self.layer_type([row.layers[i] for row in rows])
                                 for i in range(len(rows[0].layers))])

    def check(self, rows: list[QuantizedKVCache]) -> None:
        """What a kind of rows needs beyond equal lengths (nothing here)."""

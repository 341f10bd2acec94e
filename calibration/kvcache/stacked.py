"""`StackedKVCache`: the caches of several configurations as the rows of one batch.

The weights of a decode step are read once for every row, which is what makes many
configurations' answer passes cheap on a bandwidth-bound CPU: row i of each K, V [B, H, T, D] goes
to the i-th configuration's own `QuantizedKVCache` (its scheme, its codes), whose decoded timeline
is row i of one shared slab, so attention reads the batch without a copy. Every row must hold the
same number of tokens (the same prompt) and at least one.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from calibration.kvcache.cache import QuantizedKVCache
from calibration.kvcache.rows import RowsKVCache, RowsLayer
from calibration.kvcache.store import SideStore
from calibration.kvcache.timeline import Slab


class StackedLayer(RowsLayer):
    """One decoder layer of every row: splits the batch, updates each row's layer, and returns
    a view of the rows' shared slabs (no stacking copy)."""

    def __init__(self, parts: list[Any]) -> None:
        super().__init__(parts)
        # each side's rows move into one slab: the batch's K, V are then a view of it
        self.slabs = tuple(self._slab([getattr(p, side) for p in parts])
                           for side in ("key_store", "value_store"))

    @staticmethod
    def _slab(stores: list[SideStore]) -> Slab:
        slab = Slab([store.tokens() for store in stores])
        for row, store in enumerate(stores):
            store.share(slab, row)
        return slab

    def update(self, key_states: Tensor, value_states: Tensor,
               cache_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Tensor, Tensor]:
        if key_states.shape[0] != len(self.parts):
            raise ValueError(f"a batch of {key_states.shape[0]} rows for {len(self.parts)} caches")
        for i, part in enumerate(self.parts):
            part.update(key_states[i : i + 1], value_states[i : i + 1], cache_kwargs)
        length = self.parts[0].get_seq_length()
        return self.slabs[0].view(length), self.slabs[1].view(length)


class StackedKVCache(RowsKVCache):
    """`rows[i]` is batch row i; the rows are shared, not copied (`mark` before a decode and
    `rewind` after it to leave them as they were)."""

    layer_type = StackedLayer

    def check(self, rows: list[QuantizedKVCache]) -> None:
        if rows[0].get_seq_length() == 0:
            raise ValueError("rows must hold at least one token (a prefilled context)")

    def mark(self) -> list[list[Any]]:
        """Every row's state, per layer: cheaper than a deep copy (nothing is copied)."""
        return [[part.mark() for part in layer.parts] for layer in self.layers]  # type: ignore[attr-defined]

    def rewind(self, marks: list[list[Any]]) -> None:
        """Undo every update since `mark` (e.g. a greedy decode before a teacher-forced pass)."""
        for layer, states in zip(self.layers, marks, strict=True):
            for part, state in zip(layer.parts, states, strict=True):  # type: ignore[attr-defined]
                part.rewind(state)

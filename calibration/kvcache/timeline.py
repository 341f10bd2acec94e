"""`Timeline`: one cache side as attention reads it, kept decoded in a growing buffer.

For the accuracy harness's answer passes: a decode step appends one token, and re-decoding every
quantized token (plus two full copies) at each step cost more than the model's own matmuls.
Here each token is decoded once, when it is flushed, and written over its exact copy before the
next step (not at once: the step that appended it still attends to it exactly, as the store
returns it). The rows of a batch keep their timelines in one `Slab`, so the batch's K, V are a
view, not a concatenation. The buffers are not part of the cache's `nbytes` (what a deployment
would hold).
"""

from __future__ import annotations

import torch
from torch import Tensor


class Slab:
    """One buffer [rows, H, capacity, D] for the timelines of a batch's rows (equal lengths)."""

    def __init__(self, tokens: Tensor | list[Tensor]) -> None:
        """`tokens` [rows, H, T, D], or a list of [1, H, T, D] rows written straight in."""
        rows = tokens if isinstance(tokens, list) else [tokens]
        first = rows[0]
        self.length = first.shape[2]
        # room for an answer pass (question, greedy answer) without regrowing; fresh pages cost
        # more than the copy on this machine, so not the 2× a doubling buffer would take
        capacity = self.length + max(256, self.length // 4)
        self.buffer = torch.empty(sum(r.shape[0] for r in rows), first.shape[1], capacity,
                                  first.shape[3], dtype=first.dtype, device=first.device)
        at = 0
        for r in rows:
            self.buffer[at : at + r.shape[0], :, : self.length] = r
            at += r.shape[0]

    def reserve(self, end: int) -> None:
        if end > self.buffer.shape[2]:
            grown = torch.empty(*self.buffer.shape[:2], 2 * end, self.buffer.shape[3],
                                dtype=self.buffer.dtype, device=self.buffer.device)
            grown[:, :, : self.buffer.shape[2]] = self.buffer
            self.buffer = grown

    def view(self, length: int) -> Tensor:
        return self.buffer[:, :, :length]


class Timeline:
    """Rows `rows` of `slab` (all of them when the store is alone): decoded quantized tokens,
    then the exact window."""

    def __init__(self, slab: Slab, rows: slice = slice(None)) -> None:
        self.slab, self.rows, self.length = slab, rows, slab.length
        self.pending: list[tuple[int, Tensor]] = []

    def settle(self) -> Tensor:
        """Write the decoded values of earlier flushes; return a view of every token."""
        for start, values in self.pending:
            self.slab.buffer[self.rows, :, start : start + values.shape[2]] = values
        self.pending.clear()
        return self.slab.buffer[self.rows, :, : self.length]

    def extend(self, x: Tensor) -> Tensor:
        """Settle earlier flushes, append x [B, H, T_new, D]; return a view of every token."""
        self.settle()
        end = self.length + x.shape[2]
        self.slab.reserve(end)
        self.slab.buffer[self.rows, :, self.length : end] = x
        self.length = end
        return self.slab.buffer[self.rows, :, :end]

    def rewrite(self, start: int, values: Tensor) -> None:
        """Write `values` [B, H, T, D] over tokens `start`… (a rewind's exact window)."""
        self.slab.buffer[self.rows, :, start : start + values.shape[2]] = values

    def decode_later(self, start: int, values: Tensor) -> None:
        """Tokens from `start` were flushed: their decoded `values` replace them before the next
        extend."""
        self.pending.append((start, values))

"""`Timeline`: one cache side as attention reads it, kept decoded in a growing buffer.

For the accuracy harness's answer passes: a decode step appends one token, and re-decoding every
quantized token (plus two full copies) at each step cost more than the model's own matmuls.
Here each token is decoded once, when it is flushed, and written over its exact copy before the
next step (not at once: the step that appended it still attends to it exactly, as the store
returns it). The buffer is not part of the cache's `nbytes` (what a deployment would hold).
"""

from __future__ import annotations

import torch
from torch import Tensor


class Timeline:
    """Tokens [B, H, T, D] in the model dtype: decoded quantized ones, then the exact window."""

    def __init__(self, tokens: Tensor) -> None:
        self.length = tokens.shape[2]
        self.buffer = torch.empty(*tokens.shape[:2], max(2 * self.length, 64), tokens.shape[3],
                                  dtype=tokens.dtype, device=tokens.device)
        self.buffer[:, :, : self.length] = tokens
        self.pending: list[tuple[int, Tensor]] = []

    def extend(self, x: Tensor) -> Tensor:
        """Settle earlier flushes, append x [B, H, T_new, D]; return a view of every token."""
        for start, values in self.pending:
            self.buffer[:, :, start : start + values.shape[2]] = values
        self.pending.clear()
        end = self.length + x.shape[2]
        if end > self.buffer.shape[2]:
            grown = torch.empty(*self.buffer.shape[:2], 2 * end, self.buffer.shape[3],
                                dtype=self.buffer.dtype, device=self.buffer.device)
            grown[:, :, : self.length] = self.buffer[:, :, : self.length]
            self.buffer = grown
        self.buffer[:, :, self.length : end] = x
        self.length = end
        return self.buffer[:, :, :end]

    def decode_later(self, start: int, values: Tensor) -> None:
        """Tokens from `start` were flushed: their decoded `values` replace them before the next
        extend."""
        self.pending.append((start, values))

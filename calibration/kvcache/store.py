"""One side (K or V) of one layer's cache: packed codes of the oldest tokens + a 16-bit window.

Holds codes uint8 [B, H, T_q, ceil(D·b/8)], fp16 scale/zero (layout from `grouping`), and the
newest tokens [B, H, T - T_q, D] in the model dtype; `nbytes` sums the storages really held.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from calibration.kvcache.grouping import Grouping
from calibration.kvcache.quantizer import pack, unpack
from calibration.kvcache.timeline import Slab, Timeline


def storage_bytes(*tensors: Tensor | None) -> int:
    """Bytes of the distinct storages behind `tensors` (a view counts its whole storage)."""
    seen: dict[int, int] = {}
    for t in tensors:
        if t is not None and t.numel() > 0:
            s = t.untyped_storage()
            seen[s.data_ptr()] = s.nbytes()
    return sum(seen.values())


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """Codes decode in float32 for a float32 model, else in float16 (then convert)."""
    return torch.float32 if dtype == torch.float32 else torch.float16


class SideStore:
    """Append tokens; flush everything beyond `residual` recent tokens into packed codes."""

    def __init__(self, bits: int, grouping: Grouping | None, residual: int, track_error: bool):
        self.bits = bits
        self.grouping = grouping  # None: a 16-bit side, never flushed
        self.residual = residual
        self.track_error = track_error
        self.recent: Tensor | None = None  # [B, H, T_r, D] model dtype
        # codes uint8 [B, H, T_q, packed D], scale, zero of each flush, oldest first: joined
        # when read (`codes` …), so a decode step's one-token flush copies nothing old
        self.pieces: list[tuple[Tensor, Tensor, Tensor]] = []
        self.segments: list[int] = []  # tokens of each flush, oldest first
        self.error_sq = 0.0  # Σ (x - x̂)² over flushed elements (when tracking)
        self.signal_sq = 0.0  # Σ x² over flushed elements (when tracking)
        self.remember = False  # keep a decoded timeline from now on (harness only)
        self.timeline: Timeline | None = None

    @property
    def quantized_tokens(self) -> int:
        return sum(self.segments)

    def _joined(self, part: int) -> Tensor | None:
        if len(self.pieces) > 1:
            codes, scale, zero = (torch.cat([p[i] for p in self.pieces], dim=2) for i in range(3))
            self.pieces = [(codes, scale, zero)]
        return self.pieces[0][part] if self.pieces else None

    @property
    def codes(self) -> Tensor | None:
        return self._joined(0)

    @property
    def scale(self) -> Tensor | None:
        return self._joined(1)

    @property
    def zero(self) -> Tensor | None:
        return self._joined(2)

    @property
    def nbytes(self) -> int:
        return storage_bytes(self.recent, self.codes, self.scale, self.zero)

    def remember_decoded(self) -> None:
        """From now on keep every token decoded (`Timeline`), so that each append decodes only
        what a flush adds: the same values, since every grouping decodes element by element.
        The reconstruction error stops counting here: the harness reads it for the context."""
        self.remember = True
        self.track_error = False

    def tokens(self) -> Tensor:
        """Every token [B, H, T, D] as attention reads it."""
        assert self.recent is not None
        return self.timeline.settle() if self.timeline is not None else self._full(self.recent)

    def mark(self) -> tuple[Any, ...]:
        """What `rewind` needs to undo every later append: nothing is copied (appends replace
        `recent` and add pieces; they never write into a tensor held here)."""
        timeline = self.timeline
        return (self.recent, list(self.pieces), list(self.segments), self.error_sq,
                self.signal_sq, None if timeline is None else (timeline.length,
                                                               list(timeline.pending)))

    def rewind(self, state: tuple[Any, ...]) -> None:
        """Back to the state `mark` returned; the timeline's window is written exact again (a
        later flush decoded its tokens in place)."""
        self.recent, pieces, segments, self.error_sq, self.signal_sq, timed = state
        self.pieces, self.segments = list(pieces), list(segments)
        if timed is None:
            return
        assert self.timeline is not None
        self.timeline.length, pending = timed
        self.timeline.pending = list(pending)
        if self.recent is not None:
            self.timeline.rewrite(self.quantized_tokens, self.recent)

    def share(self, slab: Slab, row: int) -> None:
        """Keep the timeline as row `row` of `slab`, which already holds `tokens()`."""
        self.remember_decoded()
        self.timeline = Timeline(slab, slice(row, row + 1))

    def append(self, x: Tensor) -> Tensor:
        """Add x [B, H, T_new, D]; return every token [B, H, T, D] (old codes dequantized,
        the 16-bit window and `x` exact), then flush what left the window."""
        if self.remember and self.timeline is None:
            so_far = x[:, :, :0] if self.recent is None else self._full(self.recent)
            self.timeline = Timeline(Slab(so_far))
        self.recent = x.clone() if self.recent is None else torch.cat([self.recent, x], dim=2)
        full = self.timeline.extend(x) if self.timeline is not None else self._full(self.recent)
        self._flush()
        return full

    def _full(self, recent: Tensor) -> Tensor:
        """The quantized tokens decoded, then `recent` [B, H, T, D]."""
        full = recent
        if self.pieces:
            t_q = self.quantized_tokens
            b, h, t_r, d = recent.shape
            full = torch.empty(b, h, t_q + t_r, d, dtype=recent.dtype, device=recent.device)
            # decode in the 2-byte work dtype and convert while copying: no third full copy
            full[:, :, :t_q] = self.dequantized(_work_dtype(recent.dtype))
            full[:, :, t_q:] = recent
        return full

    def dequantized(self, dtype: torch.dtype) -> Tensor:
        """The quantized tokens [B, H, T_q, D] in `dtype`."""
        assert self.codes is not None
        assert self.recent is not None
        assert self.grouping is not None
        assert self.scale is not None
        assert self.zero is not None
        codes = unpack(self.codes, self.bits, self.recent.shape[-1])
        return self.grouping.dequantize(codes, self.scale, self.zero, self.segments, dtype)

    def _flush(self) -> None:
        assert self.recent is not None
        if self.grouping is None:
            return
        beyond = max(self.recent.shape[2] - self.residual, 0)
        n = beyond // self.grouping.flush_multiple * self.grouping.flush_multiple
        if n == 0:
            return
        old, self.recent = self.recent[:, :, :n], self.recent[:, :, n:].clone()
        codes, scale, zero = self.grouping.quantize(old, self.bits)
        if self.track_error:
            approx = self.grouping.dequantize(codes, scale, zero, [n], torch.float32)
            self.error_sq += float((old.float() - approx).square().sum())
            self.signal_sq += float(old.float().square().sum())
        if self.timeline is not None:
            fresh = self.grouping.dequantize(codes, scale, zero, [n], _work_dtype(old.dtype))
            self.timeline.decode_later(self.quantized_tokens, fresh.to(old.dtype))
        self.pieces.append((pack(codes, self.bits), scale.clone(), zero.clone()))
        self.segments.append(n)

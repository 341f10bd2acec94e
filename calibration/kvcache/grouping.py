"""Which elements share one (scale, zero): one small adapter per KV granularity.

Every adapter maps K or V [B, H, T, D] to codes of the same shape plus metadata whose token-like
axis is dim 2, so a store appends flushes with one `torch.cat(..., dim=2)` whatever the mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from calibration.kvcache.quantizer import dequantize, quantize
from models.space import CHANNEL_GROUP_TOKENS, KVScheme


@dataclass(frozen=True)
class Grouping:
    """`block` of `group` channels of one token-head; `group=None` is per token-head (`token`).

    scale/zero shape: [B, H, T, D/G, 1].
    """

    group: int | None = None
    flush_multiple: int = 1  # a flush quantizes a multiple of this many tokens

    def _width(self, d: int) -> int:
        return d if self.group is None else self.group

    def quantize(self, x: Tensor, bits: int) -> tuple[Tensor, Tensor, Tensor]:
        """x [B, H, T, D] → codes uint8 [B, H, T, D], scale, zero (fp16)."""
        b, h, t, d = x.shape
        codes, scale, zero = quantize(x.reshape(b, h, t, d // self._width(d), -1), bits, -1)
        return codes.reshape(b, h, t, d), scale, zero

    def dequantize(
        self, codes: Tensor, scale: Tensor, zero: Tensor, segments: list[int], dtype: torch.dtype
    ) -> Tensor:
        """codes [B, H, Tq, D] → values [B, H, Tq, D] in `dtype`."""
        b, h, t, d = codes.shape
        grouped = codes.reshape(b, h, t, d // self._width(d), -1)
        return dequantize(grouped, scale, zero, dtype).reshape(b, h, t, d)


@dataclass(frozen=True)
class ChannelGrouping(Grouping):
    """KIVI keys: one channel of one head over CHANNEL_GROUP_TOKENS tokens.

    scale/zero shape: [B, H, T/32, 1, D]; T must be a multiple of 32.
    """

    flush_multiple: int = CHANNEL_GROUP_TOKENS

    def quantize(self, x: Tensor, bits: int) -> tuple[Tensor, Tensor, Tensor]:
        b, h, t, d = x.shape
        codes, scale, zero = quantize(x.reshape(b, h, t // CHANNEL_GROUP_TOKENS, -1, d), bits, -2)
        return codes.reshape(b, h, t, d), scale, zero

    def dequantize(
        self, codes: Tensor, scale: Tensor, zero: Tensor, segments: list[int], dtype: torch.dtype
    ) -> Tensor:
        b, h, t, d = codes.shape
        grouped = codes.reshape(b, h, t // CHANNEL_GROUP_TOKENS, -1, d)
        return dequantize(grouped, scale, zero, dtype).reshape(b, h, t, d)


@dataclass(frozen=True)
class TensorGrouping(Grouping):
    """One (scale, zero) per flush segment of the whole layer side; shape [B, 1, n_segments, 1]."""

    def quantize(self, x: Tensor, bits: int) -> tuple[Tensor, Tensor, Tensor]:
        codes, scale, zero = quantize(x, bits, (1, 2, 3))
        return codes, scale.reshape(x.shape[0], 1, 1, 1), zero.reshape(x.shape[0], 1, 1, 1)

    def dequantize(
        self, codes: Tensor, scale: Tensor, zero: Tensor, segments: list[int], dtype: torch.dtype
    ) -> Tensor:
        lengths = torch.tensor(segments, device=codes.device)
        per_token_scale = scale.repeat_interleave(lengths, dim=2, output_size=codes.shape[2])
        per_token_zero = zero.repeat_interleave(lengths, dim=2, output_size=codes.shape[2])
        return dequantize(codes, per_token_scale, per_token_zero, dtype)


def grouping_for(scheme: KVScheme, keys: bool) -> Grouping:
    """The grouping of one side (keys or values) of a quantized scheme."""
    gran = scheme.granularity
    if gran == "tensor":
        return TensorGrouping()
    if gran == "block":
        return Grouping(group=scheme.group)
    if gran == "channel":
        # values per token, but flushed in the same 32-token groups as the keys (ledger's T_q)
        return ChannelGrouping() if keys else Grouping(flush_multiple=CHANNEL_GROUP_TOKENS)
    if gran == "token":
        return Grouping()
    raise ValueError(f"granularity must be one of tensor, token, block, channel; got {gran!r}")

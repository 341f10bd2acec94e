"""Asymmetric round-to-nearest quantization and int8/int4/int2 packing along the last axis.

Pure tensor functions (no cache state): `quantize` over any reduction axes, `pack`/`unpack` codes.
"""

from __future__ import annotations

import torch
from torch import Tensor

PACKABLE_BITS = (8, 4, 2)
# Guards: s is floored at absmax/Z_LIMIT so z = round(-min/s) is an exact fp16 integer
# (|z| <= 2048), and at the smallest fp16 subnormal so a constant group never gets s = 0.
Z_LIMIT = 2048.0
S_MIN = 2.0**-24
FP16_MAX = 65504.0


def _check_bits(bits: int) -> None:
    if bits not in PACKABLE_BITS:
        raise ValueError(f"quantized bits must be one of 8, 4, 2; got {bits!r}")


def quantize(
    x: Tensor, bits: int, dim: int | tuple[int, ...]
) -> tuple[Tensor, Tensor, Tensor]:
    """Quantize `x` with one (scale, zero) per slice reduced over `dim`.

    s = (max - min)/(2^b - 1), z = round(-min/s), q = clamp(round(x/s) + z, 0, 2^b - 1).
    Returns codes uint8 (x's shape), scale and zero float16 (x's shape with `dim` kept as 1).
    Codes are computed from the fp16-rounded s and z, so `dequantize` uses exactly what is stored.
    """
    _check_bits(bits)
    levels = float(2**bits - 1)
    xf = x.float()
    lo = xf.amin(dim=dim, keepdim=True)
    hi = xf.amax(dim=dim, keepdim=True)
    absmax = torch.maximum(lo.abs(), hi.abs())
    s = torch.maximum((hi - lo) / levels, absmax / Z_LIMIT).clamp(S_MIN, FP16_MAX)
    # Round s up by one fp16 ulp so the rounded scale still spans [min, max].
    scale = (s * (1.0 + 2.0**-10)).clamp_max(FP16_MAX).to(torch.float16)
    s16 = scale.float()
    zero = torch.round(-lo / s16)
    codes = torch.clamp(torch.round(xf / s16) + zero, 0.0, levels).to(torch.uint8)
    return codes, scale, zero.to(torch.float16)


def dequantize(codes: Tensor, scale: Tensor, zero: Tensor, dtype: torch.dtype) -> Tensor:
    """(q - z)·s cast to `dtype`; scale and zero broadcast against codes.

    16-bit outputs are computed in float16 in place (q - z is an exact fp16 integer, |z| <= 2048),
    so the transient is one 2-byte copy of the codes; float32 outputs in float32.
    """
    work = torch.float32 if dtype == torch.float32 else torch.float16
    out = codes.to(work)
    out.sub_(zero.to(work)).mul_(scale.to(work))
    return out.to(dtype)


def packed_dim(dim: int, bits: int) -> int:
    """Bytes per row of `dim` codes at `bits`: ceil(dim·bits/8)."""
    return -(-dim * bits // 8)


def pack(codes: Tensor, bits: int) -> Tensor:
    """uint8 codes [..., D] (values < 2^bits) → packed uint8 [..., ceil(D·bits/8)].

    Code j of a byte sits at bit offset j·bits (little-end first); a ragged tail is zero-padded.
    """
    _check_bits(bits)
    if bits == 8:
        return codes.contiguous()
    per = 8 // bits
    d = codes.shape[-1]
    pad = (-d) % per
    if pad:
        codes = torch.nn.functional.pad(codes, (0, pad))
    grouped = codes.reshape(*codes.shape[:-1], -1, per).to(torch.int32)
    shifts = torch.arange(0, 8, bits, dtype=torch.int32, device=codes.device)
    return (grouped << shifts).sum(dim=-1).to(torch.uint8)


def unpack(packed: Tensor, bits: int, dim: int) -> Tensor:
    """Packed uint8 [..., ceil(D·bits/8)] → uint8 codes [..., D] (inverse of `pack`)."""
    _check_bits(bits)
    if bits == 8:
        return packed
    shifts = torch.arange(0, 8, bits, dtype=torch.uint8, device=packed.device)
    mask = (1 << bits) - 1
    codes = (packed.unsqueeze(-1) >> shifts) & mask
    return codes.reshape(*packed.shape[:-1], -1)[..., :dim]

"""`PackedInt4Linear`: an AWQ GEMM int4 linear layer that stays packed in memory.

Holds the checkpoint's buffers as they are and dequantizes its weight on the fly in `forward`
(the transient `awq_dequant` term of the ledger); pure torch, so CPU and CUDA alike.
`DequantizedLinear` is the same layer with that weight computed once: the same products, for
the accuracy harness, which measures answers and not memory.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

# Nibble i of an AWQ GEMM int32 holds output column AWQ_ORDER[i] of its 8-column pack, so
# column k of a pack sits at bit offset 4·AWQ_REVERSE_ORDER[k].
AWQ_REVERSE_ORDER = (0, 4, 1, 5, 2, 6, 3, 7)
PACK = 8  # int4 values per int32


class PackedInt4Linear(nn.Module):
    """y = x·W + b with W [in, out] = (q − z)·s from AWQ GEMM buffers.

    qweight int32 [in, out/8], qzeros int32 [in/g, out/8], scales fp16 [in/g, out],
    bias fp16 [out] or absent. x [..., in] → y [..., out] in x's dtype.
    """

    def __init__(self, in_features: int, out_features: int, group: int, bias: bool) -> None:
        super().__init__()
        if in_features % group or out_features % PACK:
            raise ValueError(
                f"AWQ group {group} must divide in_features {in_features} and out_features "
                f"{out_features} must be a multiple of {PACK}"
            )
        self.in_features, self.out_features, self.group = in_features, out_features, group
        groups = in_features // group
        cols = out_features // PACK
        self.register_buffer("qweight", torch.zeros(in_features, cols, dtype=torch.int32))
        self.register_buffer("qzeros", torch.zeros(groups, cols, dtype=torch.int32))
        self.register_buffer("scales", torch.zeros(groups, out_features, dtype=torch.float16))
        self.bias: Tensor | None
        if bias:
            self.register_buffer("bias", torch.zeros(out_features, dtype=torch.float16))
        else:
            self.bias = None

    @staticmethod
    def _unpack(packed: Tensor) -> Tensor:
        """int32 [r, out/8] → int codes [r, out] in natural column order."""
        shifts = torch.tensor([4 * i for i in AWQ_REVERSE_ORDER], dtype=torch.int32,
                              device=packed.device)
        return ((packed.unsqueeze(-1) >> shifts) & 0xF).reshape(packed.shape[0], -1)

    def dequantized_weight(self) -> Tensor:
        """W [in, out] in the scales' dtype (fp16), as AutoAWQ's `dequantize_gemm` computes it."""
        # registered buffers read back as Tensor | Module
        buffers = (self.scales, self.qweight, self.qzeros)
        scales, qweight, qzeros = (cast(Tensor, b) for b in buffers)
        q = self._unpack(qweight).to(scales.dtype)
        z = self._unpack(qzeros).to(scales.dtype)
        w = (q.view(scales.shape[0], self.group, -1) - z.unsqueeze(1)) * scales.unsqueeze(1)
        return w.view(self.in_features, self.out_features)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.matmul(x, self.dequantized_weight().to(x.dtype))
        return y if self.bias is None else y + self.bias.to(x.dtype)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, group={self.group}, int4 packed"


class DequantizedLinear(nn.Module):
    """A `PackedInt4Linear` whose weight was dequantized once, in the activations' dtype: the
    same matmul and bias as its `forward`, bit for bit, without unpacking every call (fp16
    arithmetic on a CPU is slow). Holds 16-bit weights, so it is not the ledger's AWQ layer."""

    def __init__(self, packed: PackedInt4Linear, dtype: torch.dtype) -> None:
        super().__init__()
        self.in_features, self.out_features = packed.in_features, packed.out_features
        self.weight = nn.Parameter(packed.dequantized_weight().to(dtype), requires_grad=False)
        bias = packed.bias
        self.bias = None if bias is None else nn.Parameter(bias.to(dtype), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype)
        y = torch.matmul(x, w)
        if self.bias is None:
            return y
        return y + (self.bias if self.bias.dtype == x.dtype else self.bias.to(x.dtype))

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, dequantized int4"

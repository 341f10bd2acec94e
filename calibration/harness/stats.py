"""Statistics of the harness: Wilson interval, KL and top-1 agreement, key outlier ratio.

Pure functions on tensors or counts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def wilson_interval(successes: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..n={n}; got {successes}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def kl_and_agreement(ref_logits: Tensor, logits: Tensor) -> tuple[Tensor, Tensor]:
    """Per position KL(p_ref ‖ p) and top-1 agreement; logits [N, V] → two [N] tensors."""
    ref = torch.log_softmax(ref_logits.float(), dim=-1)
    out = torch.log_softmax(logits.float(), dim=-1)
    kl = (ref.exp() * (ref - out)).sum(dim=-1)
    agree = (ref.argmax(dim=-1) == out.argmax(dim=-1)).float()
    return kl, agree


def outlier_ratio(keys: Tensor) -> float:
    """Keys [B, H, T, D]: max over (head, channel) of mean |k| over tokens, over the median."""
    per_channel = keys.float().abs().mean(dim=(0, 2)).flatten()
    median = float(per_channel.median())
    return float(per_channel.max()) / median if median > 0 else float("inf")

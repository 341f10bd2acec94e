"""Statistics of the harness: Wilson interval, KL and top-1 agreement against a reference,
key outlier ratio.

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


class Reference:
    """The reference's next-token distributions over N positions, to score other logits
    against: KL(p_ref ‖ p), top-1 agreement and log p of given tokens.

    Logits arrive in parts (question, answer) of [n_i, V] in the model dtype; each is scored in
    one float32 buffer made once, since on a large vocabulary fresh buffers of float32 logits
    (gigabytes a batch) cost more than the arithmetic (docs/real_models.md)."""

    def __init__(self, parts: list[Tensor]) -> None:
        self.work = torch.empty(sum(p.shape[0] for p in parts), parts[0].shape[-1],
                                dtype=torch.float32, device=parts[0].device)
        self.log_p = self._log_q(parts).clone()
        self.p = self.log_p.exp()
        self.top = self.log_p.argmax(dim=-1)

    def _log_q(self, parts: list[Tensor]) -> Tensor:
        """log-softmax of the parts, stacked into the work buffer."""
        start = 0
        for part in parts:
            self.work[start : start + part.shape[0]].copy_(part)
            start += part.shape[0]
        return self.work.sub_(torch.logsumexp(self.work, dim=-1, keepdim=True))

    def score(self, parts: list[Tensor], targets: Tensor, first: int
              ) -> tuple[Tensor, Tensor, Tensor]:
        """Per position KL(p_ref ‖ p) and top-1 agreement [N], and log p of `targets` at the
        positions from `first` on ([N − first])."""
        log_q = self._log_q(parts)
        picked = log_q[first:].gather(1, targets[:, None].to(log_q.device))[:, 0]
        agree = (log_q.argmax(dim=-1) == self.top).float()
        kl = log_q.sub_(self.log_p).mul_(self.p).sum(dim=-1).neg_()  # Σ p (log p − log q)
        return kl, agree, picked


def outlier_ratio(keys: Tensor) -> float:
    """Keys [B, H, T, D]: max over (head, channel) of mean |k| over tokens, over the median."""
    per_channel = keys.float().abs().mean(dim=(0, 2)).flatten()
    median = float(per_channel.median())
    return float(per_channel.max()) / median if median > 0 else float("inf")

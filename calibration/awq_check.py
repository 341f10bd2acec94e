"""Is an AWQ folder a faithful 4-bit copy of its 16-bit model? Perplexity on held-out text.

AutoAWQ's default scale search can return a model that no longer speaks (SmolLM2-135M at group
64, docs/real_models.md); `calibration.awq_cache` then remakes it on the paper's x-only grid.
Every AWQ folder is checked once, on calibration prompts of a seed the search never saw, against
its 16-bit model and against plain round-to-nearest at the same group; the verdict is kept beside
the weights (`kvpareto_awq.json`) and a folder that failed is refused with the figures, so a
sweep records a clear error instead of measuring a broken model.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RECORD = "kvpareto_awq.json"
CHECK_SEED = 4243  # the AWQ search calibrates on seed 4242
MAX_RATIO = 2.0  # AWQ perplexity / 16-bit perplexity; a sound folder sits near rounding's ~1.2


@dataclass(frozen=True)
class AwqCheck:
    """Perplexities on the same held-out tokens (bf16 activations)."""

    ppl_16bit: float
    ppl_awq: float
    ppl_rtn: float  # plain asymmetric round-to-nearest int4 at the AWQ folder's group
    tokens: int
    group: int
    search: str = "duo"  # AutoAWQ's scale grid: "duo" (its default) or "x-only"

    @property
    def ratio(self) -> float:
        return self.ppl_awq / self.ppl_16bit

    @property
    def ok(self) -> bool:
        return math.isfinite(self.ratio) and self.ratio <= MAX_RATIO

    def message(self, folder: Path) -> str:
        return (f"{folder}: the AWQ model is not a faithful copy of its 16-bit model (perplexity "
                f"{self.ppl_awq:,.1f} vs {self.ppl_16bit:,.1f} on {self.tokens} held-out tokens, "
                f"{self.ratio:,.1f}×, allowed ≤ {MAX_RATIO}×; plain rounding at group "
                f"{self.group} gives {self.ppl_rtn:,.1f}); remove the folder to remake it")


def _perplexity(model: Any, sequences: list[list[int]]) -> tuple[float, int]:
    import torch

    nll, count = 0.0, 0
    with torch.no_grad():
        for seq in sequences:
            ids = torch.tensor([seq])
            logits = model(ids).logits[0, :-1].float()
            nll += float(torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum"))
            count += len(seq) - 1
    return math.exp(nll / max(count, 1)), count


def rtn_int4_(model: Any, group: int) -> Any:
    """Round every decoder linear of a 16-bit model to asymmetric int4 in groups, in place."""
    import torch

    from calibration.engine.loading import DECODER_LINEARS

    with torch.no_grad():
        for layer in model.model.layers:
            for parent in (layer.self_attn, layer.mlp):
                for name in DECODER_LINEARS:
                    lin = getattr(parent, name, None)
                    if lin is None:
                        continue
                    w = lin.weight.float()
                    x = w.reshape(w.shape[0], -1, group)
                    lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
                    scale = (hi - lo).clamp(min=1e-8) / 15
                    zero = (-lo / scale).round()
                    q = ((x / scale).round() + zero).clamp(0, 15)
                    lin.weight.copy_(((q - zero) * scale).reshape(w.shape).to(lin.weight.dtype))
    return model


def measure(model_dir: Path, awq_dir: Path, sequences: list[list[int]], group: int,
            search: str) -> AwqCheck:
    from calibration.engine.loading import load_model

    ppl16, tokens = _perplexity(load_model(model_dir), sequences)
    ppl_awq, _ = _perplexity(load_model(awq_dir, packed=False), sequences)
    ppl_rtn, _ = _perplexity(rtn_int4_(load_model(model_dir), group), sequences)
    return AwqCheck(ppl16, ppl_awq, ppl_rtn, tokens, group, search)


def stored(awq_dir: Path) -> AwqCheck | None:
    try:
        raw = json.loads((awq_dir / RECORD).read_text())
        return AwqCheck(**{k: raw[k] for k in AwqCheck.__dataclass_fields__ if k in raw})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(awq_dir: Path, check: AwqCheck) -> None:
    part = awq_dir / f".{RECORD}.part"
    part.write_text(json.dumps(asdict(check) | {"ratio": check.ratio, "ok": check.ok,
                                                "max_ratio": MAX_RATIO}, indent=1))
    os.replace(part, awq_dir / RECORD)


def checked(model_dir: Path, awq_dir: Path, sequences: Callable[[], list[list[int]]],
            group: int, search: str = "duo") -> AwqCheck:
    """The folder's stored check, measured (on `sequences()`) and stored first if it has none
    (`search`: the scale grid the folder was made with). Raises ValueError (with the figures)
    when the AWQ model fails it."""
    check = stored(awq_dir)
    if check is None:
        check = measure(model_dir, awq_dir, sequences(), group, search)
        write(awq_dir, check)
    if not check.ok:
        raise ValueError(check.message(awq_dir))
    return check

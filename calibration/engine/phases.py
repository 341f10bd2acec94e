"""Marks the stages of a forward pass (`models.memory.PHASES`) so a probe can split its peak.

Forward hooks on every decoder layer's attention and MLP, on the LM head and on packed AWQ
linears, plus the cache's update, open and close a named span; the innermost open span owns
whatever is allocated meanwhile, and memory outside every span is `OTHER` (embedding, norms).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from torch import nn

from calibration.engine.packed_linear import PackedInt4Linear
from models.memory import PHASES

OTHER = "other"  # outside every marked module; the ledger's phase of the same name
PHASE_NAMES = tuple(PHASES)
assert OTHER in PHASE_NAMES


class Spans(Protocol):
    def enter(self, phase: str) -> None: ...

    def exit(self, phase: str) -> None: ...


def module_phase(name: str, module: nn.Module) -> str | None:
    """The phase a module's forward is, by type or by its (transformers) attribute name."""
    if isinstance(module, PackedInt4Linear):
        return "awq_dequant"
    leaf = name.rsplit(".", 1)[-1]
    return {"self_attn": "attention", "mlp": "mlp", "lm_head": "logits"}.get(leaf)


@contextmanager
def marked(model: nn.Module, cache: Any, spans: Spans) -> Iterator[None]:
    """Within the block, `spans` hears every phase's start and end (hooks removed after)."""
    handles = []
    for name, module in model.named_modules():
        phase = module_phase(name, module)
        if phase is None:
            continue

        def pre(_m: nn.Module, _a: Any, phase: str = phase) -> None:
            spans.enter(phase)

        def post(_m: nn.Module, _a: Any, _o: Any, phase: str = phase) -> None:
            spans.exit(phase)

        handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    cache.spans = spans
    try:
        yield
    finally:
        cache.spans = None
        for h in handles:
            h.remove()

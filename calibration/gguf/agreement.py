"""Logit agreement of two models on one fixed, chat-templated prompt: the check that a
converted folder computes what the GGUF model computes.

Logits are [positions, vocab] float32 tensors of the prompt's every position.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Fixed: the same prompt for every import, so provenance files compare across models.
PROMPT = ("Summarise in one sentence why a key-value cache grows linearly with the context "
          "length, then name one way to make it smaller.")


@dataclass(frozen=True)
class Agreement:
    """How far apart two models' next-token distributions are on the fixed prompt."""

    positions: int
    max_abs_logit_diff: float  # over every position and vocabulary entry
    top1_agreement: float  # fraction of positions whose argmax token is the same
    mean_kl: float  # mean over positions of KL(reference ‖ other), nats

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prompt_ids(tokenizer: Any) -> Any:
    """The fixed prompt as a [1, T] id tensor, chat-templated when the tokenizer has a template."""
    messages = [{"role": "user", "content": PROMPT}]
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        text = PROMPT
    return tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]


def logits(model: Any, ids: Any) -> Any:
    """[T, vocab] float32 logits of `model` at every position of `ids` ([1, T])."""
    import torch

    with torch.inference_mode():
        return model(input_ids=ids, use_cache=False).logits[0].float()


def compare(reference: Any, other: Any) -> Agreement:
    """Agreement of `other` with `reference` (both [T, vocab] float32)."""
    import torch

    log_p = torch.log_softmax(reference, dim=-1)
    log_q = torch.log_softmax(other, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    same = (reference.argmax(-1) == other.argmax(-1)).float()
    return Agreement(
        positions=int(reference.shape[0]),
        max_abs_logit_diff=float((reference - other).abs().max()),
        top1_agreement=float(same.mean()),
        mean_kl=max(0.0, float(kl.mean())),
    )

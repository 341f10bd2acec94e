"""Passkey retrieval: one `the pass key is <n> <n> .` sentence hidden in filler at some depth.

The easiest task; harder variants use more number parts (1-3 tokens for the testbed tokenizer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Builder, Task

# 'is' occurs once before the question (right before the key), so the answer prefix
# 'the pass key is' points at it unambiguously.
LEAD = "find the pass key hidden in the text below and remember it ."
QUESTION = " question : give the pass key . answer : the pass key is"


def needle(passkey: str) -> str:
    return f"the pass key is {passkey} . remember it ."


@dataclass(frozen=True)
class Passkey(Task):
    """parts numbers in 0..499 form the key; depth None draws a uniform depth per sample."""

    name: ClassVar[str] = "passkey"
    lead: ClassVar[str] = LEAD
    parts: int = 2
    depth: float | None = None

    def check(self) -> None:
        if self.parts not in (1, 2, 3):
            raise ValueError(f"parts must be one of 1, 2, 3, got {self.parts}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        key = " ".join(rng.choice(W.NUMBERS) for _ in range(self.parts))
        depth = rng.random() if self.depth is None else self.depth
        return self.woven(rng, context_tokens, [(depth, needle(key))], ((QUESTION, key),))

"""Passkey retrieval: one `the pass key is <n> <n> .` sentence hidden in filler at some depth.

The easiest task; harder variants use more number parts (1-3 tokens for the testbed tokenizer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Episode, Task, TokenizerLike, fit_to_length
from calibration.tasks.filler import Filler, weave

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
    parts: int = 2
    depth: float | None = None

    def episode(
        self,
        tokenizer: TokenizerLike,
        context_tokens: int,
        rng: random.Random,
        n_questions: int = 1,
    ) -> Episode:
        if self.parts not in (1, 2, 3):
            raise ValueError(f"parts must be one of 1, 2, 3, got {self.parts}")
        if n_questions != 1:
            raise ValueError(f"passkey asks exactly one question, got n_questions={n_questions}")
        key = " ".join(rng.choice(W.NUMBERS) for _ in range(self.parts))
        depth = rng.random() if self.depth is None else self.depth
        filler = Filler(rng, context_tokens)
        qa = ((QUESTION, key),)

        def build(n_words: int) -> Episode:
            return Episode(weave(filler.take(n_words), [(depth, needle(key))], LEAD), qa)

        return fit_to_length(build, tokenizer, context_tokens, self.name)

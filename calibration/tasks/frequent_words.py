"""Frequent words: a long list of words drawn from a Zipf law; ask for the most frequent one.

Aggregation over the whole context (no single needle). More distinct words or a flatter law
(smaller alpha) = harder. The top word is always strictly the most frequent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Builder, Episode, Task

LEAD = "find the most frequent word in the list of words below ."
QUESTION = (
    " question : what is the most frequent word in the list above ? answer :"
    " the most frequent word is"
)
POOL: tuple[str, ...] = W.FILLER_NOUNS + W.KEY_NOUNS


def zipf_counts(n_words: int, n_distinct: int, alpha: float) -> list[int]:
    """Counts [n_distinct] summing to about n_words, rank 0 strictly the largest."""
    weights = [1.0 / (r + 1) ** alpha for r in range(n_distinct)]
    total = sum(weights)
    counts = [int(n_words * w / total) for w in weights]
    counts[0] += n_words - sum(counts)
    if n_distinct > 1 and counts[0] <= counts[1]:
        counts[0] = counts[1] + 1
    return counts


@dataclass(frozen=True)
class FrequentWords(Task):
    """n_distinct words from a pool of 72 nouns with Zipf exponent alpha."""

    name: ClassVar[str] = "frequent_words"
    lead: ClassVar[str] = LEAD
    n_distinct: int = 20
    alpha: float = 1.0

    def check(self) -> None:
        if not 2 <= self.n_distinct <= len(POOL):
            raise ValueError(f"n_distinct must be in [2, {len(POOL)}], got {self.n_distinct}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        chosen = rng.sample(POOL, self.n_distinct)
        base = rng.random()
        qa = ((QUESTION, chosen[0]),)

        def build(n_words: int) -> Episode:
            counts = zipf_counts(n_words, self.n_distinct, self.alpha) if n_words else [0]
            seq = [w for w, c in zip(chosen, counts, strict=False) for _ in range(c)]
            random.Random(f"{base}:{n_words}").shuffle(seq)
            return Episode(" ".join([LEAD, *seq, "."]), qa)

        return build

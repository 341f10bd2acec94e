"""Key-value retrieval: many `<key> <number> .` records (e.g. `amber fox 417 .`) in filler.

Associative recall over n_records two-word keys (1024 possible); more records = harder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Builder, Task

LEAD = "remember the value of every key in the text below ."
MAX_KEYS = len(W.KEY_ADJECTIVES) * len(W.KEY_NOUNS)


def random_keys(rng: random.Random, n: int) -> list[str]:
    """n distinct two-word keys such as 'amber fox'."""
    if not 0 <= n <= MAX_KEYS:
        raise ValueError(f"number of keys must be in [0, {MAX_KEYS}], got {n}")
    picks = rng.sample(range(MAX_KEYS), n)
    na = len(W.KEY_NOUNS)
    return [f"{W.KEY_ADJECTIVES[i // na]} {W.KEY_NOUNS[i % na]}" for i in picks]


# The value directly follows its key, in the record and after the question: a small model can
# then answer by induction (find the earlier occurrence of the key, copy what followed it).
def record(key: str, value: str) -> str:
    return f"{key} {value} ."


def question(key: str) -> str:
    return f" question : what is the value of {key}"


@dataclass(frozen=True)
class KVRetrieval(Task):
    """n_records records (None: one per 32 prompt tokens, at least 2) at random depths."""

    name: ClassVar[str] = "kv_retrieval"
    lead: ClassVar[str] = LEAD
    max_questions: ClassVar[int | None] = None
    n_records: int | None = None
    tokens_per_record: int = 32

    def records_for(self, context_tokens: int) -> int:
        if self.n_records is not None:
            if self.n_records < 1:
                raise ValueError(f"n_records must be >= 1 or None, got {self.n_records}")
            return self.n_records
        return max(2, context_tokens // self.tokens_per_record)

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        n = self.records_for(context_tokens)
        if not 1 <= n_questions <= n:
            raise ValueError(f"n_questions must be in [1, n_records={n}], got {n_questions}")
        keys = random_keys(rng, n)
        values = [rng.choice(W.NUMBERS) for _ in keys]
        depths = sorted(rng.random() for _ in keys)
        asked = rng.sample(range(n), n_questions)
        qa = tuple((question(keys[i]), values[i]) for i in asked)
        inserts = [(d, record(k, v)) for d, k, v in zip(depths, keys, values, strict=True)]
        return self.woven(rng, context_tokens, inserts, qa)

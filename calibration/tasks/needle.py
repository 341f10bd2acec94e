"""Multi-key needle in a haystack: `the special magic number for <key> <n> .` needles in filler.

One needle is asked about; distractor needles carry other keys, optionally near-misses that share
a word with the asked key (harder). More distractors = harder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Builder, Task

LEAD = "there is a special magic number for every key in the text below . remember it ."


# As in kv_retrieval, the number directly follows its key in the needle and after the question.
def needle(key: str, value: str) -> str:
    return f"the special magic number for {key} {value} ."


def question(key: str) -> str:
    return f" question : what is the special magic number for {key}"


def near_misses(rng: random.Random, key: str, n: int) -> list[str]:
    """n distinct keys sharing the adjective or the noun of `key` (never `key` itself)."""
    adj, noun = key.split()
    pool = [f"{adj} {x}" for x in W.KEY_NOUNS if x != noun]
    pool += [f"{x} {noun}" for x in W.KEY_ADJECTIVES if x != adj]
    return rng.sample(pool, n)


@dataclass(frozen=True)
class Needle(Task):
    """n_distractors other needles; near_miss makes distractor keys share a word with the target."""

    name: ClassVar[str] = "needle"
    lead: ClassVar[str] = LEAD
    n_distractors: int = 3
    near_miss: bool = True

    def check(self) -> None:
        if not 0 <= self.n_distractors <= 60:
            raise ValueError(f"n_distractors must be in [0, 60], got {self.n_distractors}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        adj, noun = rng.choice(W.KEY_ADJECTIVES), rng.choice(W.KEY_NOUNS)
        key = f"{adj} {noun}"
        if self.near_miss:
            others = near_misses(rng, key, self.n_distractors)
        else:
            others = [k for k in _all_keys() if k.split()[0] != adj and k.split()[1] != noun]
            others = rng.sample(others, self.n_distractors)
        keys = [key, *others]
        values = rng.sample(W.NUMBERS, len(keys))  # distinct, so a distractor's value is wrong
        inserts = sorted((rng.random(), needle(k, v)) for k, v in zip(keys, values, strict=True))
        qa = ((question(key), values[0]),)
        return self.woven(rng, context_tokens, inserts, qa)


def _all_keys() -> list[str]:
    return [f"{a} {n}" for a in W.KEY_ADJECTIVES for n in W.KEY_NOUNS]

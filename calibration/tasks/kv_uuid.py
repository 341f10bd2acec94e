"""Key-value retrieval over UUID-like pairs in real prose: `The value of key <uuid> is <uuid>.`

n_pairs (the difficulty knob) records at seeded depths, one asked. Both sides are random
8-4-4-4-12 hex strings, so nothing but the record gives the answer (36 characters ≈ 37 tokens).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks.base import Builder
from calibration.tasks.prose import ProseTask, ask

LEAD = ("The text below contains key-value pairs, each a sentence that gives the value of a key. "
        "Remember them; you will be asked for the value of one key at the end.")


def uuid_like(rng: random.Random) -> str:
    """A random version-4-shaped UUID from the seeded rng, e.g. '3f2a9c1e-5b7d-4e21-9a0c-7d3e…'."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def record(key: str, value: str) -> str:
    return f"The value of key {key} is {value}."


def question(key: str) -> str:
    return ask(f"What is the value of key {key}? Answer with the value only.",
               f"The value of key {key} is")


@dataclass(frozen=True)
class KVUuid(ProseTask):
    """n_pairs key-value records over UUID-like strings; the question asks one of them."""

    name: ClassVar[str] = "kv_uuid"
    lead: ClassVar[str] = LEAD
    max_new_tokens: ClassVar[int] = 40
    n_pairs: int = 2  # SmolLM2-135M 16-bit: 0.50 / 0.75 at 1,024 / 2,048 tokens (n = 16)

    def check(self) -> None:
        if not 1 <= self.n_pairs <= 1000:
            raise ValueError(f"n_pairs must be in [1, 1000], got {self.n_pairs}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        keys = [uuid_like(rng) for _ in range(self.n_pairs)]
        values = [uuid_like(rng) for _ in range(self.n_pairs)]
        depths = sorted(rng.random() for _ in keys)
        asked = rng.randrange(self.n_pairs)
        inserts = [(d, record(k, v)) for d, k, v in zip(depths, keys, values, strict=True)]
        return self.woven(rng, context_tokens, inserts, ((question(keys[asked]), values[asked]),))

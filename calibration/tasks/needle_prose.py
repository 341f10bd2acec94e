"""Multi-key needle in real prose: `One of the special magic numbers for <word> is: <n>.`

RULER's niah_multikey over real text: n_keys needles with distinct English key words, one asked.
More keys = harder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks.base import Builder
from calibration.tasks.prose import ProseTask, ask

LEAD = ("Some special magic numbers are hidden within the following text. "
        "Make sure to memorize them; you will be asked about them afterwards.")
KEY_WORDS: tuple[str, ...] = (
    "apple", "anchor", "badger", "basket", "candle", "canyon", "cobalt", "copper", "dolphin",
    "falcon", "feather", "garden", "glacier", "harbor", "helmet", "island", "jacket", "kettle",
    "lantern", "lemon", "marble", "meadow", "mirror", "needle", "orchid", "otter", "pebble",
    "pepper", "pillow", "planet", "quartz", "rabbit", "ribbon", "saddle", "salmon", "silver",
    "spider", "sponge", "thunder", "tiger", "tunnel", "velvet", "violin", "walnut", "willow",
    "window", "winter", "zebra",
)


def needle(key: str, value: str) -> str:
    return f"One of the special magic numbers for {key} is: {value}."


def question(key: str) -> str:
    return ask(f"What is the special magic number for {key} mentioned in the provided text? "
               "Answer with the number only.",
               f"The special magic number for {key} mentioned in the provided text is")


@dataclass(frozen=True)
class NeedleProse(ProseTask):
    """n_keys needles (7-digit values, distinct) at seeded depths; the question asks one key."""

    name: ClassVar[str] = "needle_prose"
    lead: ClassVar[str] = LEAD
    n_keys: int = 2  # SmolLM2-135M 16-bit: 0.88 / 0.81 at 1,024 / 2,048 tokens (n = 16)

    def check(self) -> None:
        if not 1 <= self.n_keys <= len(KEY_WORDS):
            raise ValueError(f"n_keys must be in [1, {len(KEY_WORDS)}], got {self.n_keys}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        keys = rng.sample(KEY_WORDS, self.n_keys)
        values = [str(v) for v in rng.sample(range(1_000_000, 10_000_000), self.n_keys)]
        inserts = sorted((rng.random(), needle(k, v)) for k, v in zip(keys, values, strict=True))
        return self.woven(rng, context_tokens, inserts, ((question(keys[0]), values[0]),))

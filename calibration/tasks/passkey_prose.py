"""Passkey in real prose: `The pass key is <digits>. Remember it.` hidden at a seeded depth.

The real-model counterpart of `passkey` (chat-templated, the model's own tokenizer). Short keys
saturate small instruct models; `digits` and `decoys` (numbers said not to be the key) harden it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks.base import Builder
from calibration.tasks.prose import ProseTask, ask

LEAD = ("A pass key is hidden in the text below. Find it and remember it; "
        "you will be asked for it at the end.")
QUESTION = ask("What is the pass key? Answer with the number only.", "The pass key is")


def number(rng: random.Random, digits: int) -> str:
    return str(rng.randrange(10 ** (digits - 1), 10**digits))


@dataclass(frozen=True)
class PasskeyProse(ProseTask):
    """A key of `digits` digits at a uniform depth (or `depth`); `decoys` expired keys elsewhere."""

    name: ClassVar[str] = "passkey_prose"
    lead: ClassVar[str] = LEAD
    digits: int = 7  # SmolLM2-135M 16-bit: 0.94 / 0.69 at 1,024 / 2,048 tokens (n = 16)
    decoys: int = 0
    depth: float | None = None

    def check(self) -> None:
        if not 3 <= self.digits <= 12 or not 0 <= self.decoys <= 20:
            raise ValueError(f"need digits in [3, 12] and decoys in [0, 20], got {self.digits}, "
                             f"{self.decoys}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        key = number(rng, self.digits)
        depth = rng.random() if self.depth is None else self.depth
        inserts = [(depth, f"The pass key is {key}. Remember it. {key} is the pass key.")]
        for _ in range(self.decoys):
            old = number(rng, self.digits)
            inserts.append((rng.random(), f"The number {old} is not the pass key."))
        inserts.sort(key=lambda x: x[0])
        return self.woven(rng, context_tokens, inserts, ((QUESTION, key),))

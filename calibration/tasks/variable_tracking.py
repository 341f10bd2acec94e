"""Variable tracking: chains `let x be 417 . let y be x . let z be y .` spread over filler.

Ask the value of the last variable of one chain (multi-hop); distractor chains carry other
values. More hops and more chains = harder. Variables are single key words (64 names).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks import words as W
from calibration.tasks.base import Builder, Task

LEAD = "memorize the value of every variable in the text below ."
NAMES: tuple[str, ...] = W.KEY_ADJECTIVES + W.KEY_NOUNS


def question(var: str) -> str:
    return f" question : what is the value of variable {var} ? answer : variable {var} is"


@dataclass(frozen=True)
class VariableTracking(Task):
    """n_chains chains of `hops` assignments after the first (so hops + 1 variables each)."""

    name: ClassVar[str] = "variable_tracking"
    lead: ClassVar[str] = LEAD
    hops: int = 2
    n_chains: int = 2

    def check(self) -> None:
        if self.hops < 0 or self.n_chains < 1 or (self.hops + 1) * self.n_chains > len(NAMES):
            raise ValueError(
                f"need hops >= 0, n_chains >= 1 and (hops + 1) * n_chains <= {len(NAMES)}; "
                f"got hops={self.hops}, n_chains={self.n_chains}"
            )

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        names = rng.sample(NAMES, (self.hops + 1) * self.n_chains)
        values = rng.sample(W.NUMBERS, self.n_chains)
        inserts: list[tuple[float, str]] = []
        for c in range(self.n_chains):
            chain = names[c * (self.hops + 1) : (c + 1) * (self.hops + 1)]
            depths = sorted(rng.random() for _ in chain)
            inserts.append((depths[0], f"let {chain[0]} be {values[c]} ."))
            for prev, var, d in zip(chain, chain[1:], depths[1:], strict=False):
                inserts.append((d, f"let {var} be {prev} ."))
        inserts.sort(key=lambda x: x[0])
        qa = ((question(names[self.hops]), values[0]),)
        return self.woven(rng, context_tokens, inserts, qa)

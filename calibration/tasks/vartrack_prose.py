"""Variable tracking in real prose: `The variable QXZRT is set to 41735.` then
`The variable MBNEW is set to the value of the variable QXZRT.` (a chain of copies).

RULER's variable tracking over real text: n_chains chains of `hops` copies each, the value of
the last variable of the first chain asked (multi-hop). More hops or chains = harder.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import ClassVar

from calibration.tasks.base import Builder
from calibration.tasks.prose import ProseTask, ask

LEAD = ("Memorize every variable assignment in the text below; "
        "you will be asked for the value of a variable at the end.")


def names(rng: random.Random, n: int) -> list[str]:
    """n distinct five-letter upper-case variable names."""
    out: list[str] = []
    while len(out) < n:
        v = "".join(rng.choice(string.ascii_uppercase) for _ in range(5))
        if v not in out:
            out.append(v)
    return out


def question(var: str) -> str:
    return ask(f"What is the value of the variable {var}? Answer with the number only.",
               f"The value of the variable {var} is")


@dataclass(frozen=True)
class VarTrackProse(ProseTask):
    """n_chains chains of `hops` assignments after the first (hops + 1 variables each)."""

    name: ClassVar[str] = "vartrack_prose"
    lead: ClassVar[str] = LEAD
    hops: int = 1  # SmolLM2-135M 16-bit: 0.56 / 0.19 at 1,024 / 2,048 (n = 16)
    n_chains: int = 1

    def check(self) -> None:
        if not 0 <= self.hops <= 20 or not 1 <= self.n_chains <= 20:
            raise ValueError(f"need hops in [0, 20] and n_chains in [1, 20], got {self.hops}, "
                             f"{self.n_chains}")

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        vs = names(rng, (self.hops + 1) * self.n_chains)
        values = [str(v) for v in rng.sample(range(10_000, 100_000), self.n_chains)]
        inserts: list[tuple[float, str]] = []
        for c in range(self.n_chains):
            chain = vs[c * (self.hops + 1) : (c + 1) * (self.hops + 1)]
            depths = sorted(rng.random() for _ in chain)
            inserts.append((depths[0], f"The variable {chain[0]} is set to {values[c]}."))
            inserts += [(d, f"The variable {var} is set to the value of the variable {prev}.")
                        for prev, var, d in zip(chain, chain[1:], depths[1:], strict=False)]
        inserts.sort(key=lambda x: x[0])
        return self.woven(rng, context_tokens, inserts, ((question(vs[self.hops]), values[0]),))

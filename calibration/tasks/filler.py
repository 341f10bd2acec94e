"""Seeded filler prose (short random sentences) and insertion of task sentences into it.

Filler words never collide with key words or numbers, so a record can only come from the task.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from calibration.tasks import words as W


def sentence(rng: random.Random) -> list[str]:
    """One filler sentence, e.g. ['the', 'old', 'river', 'waits', 'near', 'a', 'lamp', '.']."""
    out = [rng.choice(W.FILLER_DETERMINERS), rng.choice(W.FILLER_ADJECTIVES)]
    out += [rng.choice(W.FILLER_NOUNS), rng.choice(W.FILLER_VERBS)]
    if rng.random() < 0.7:
        out += [rng.choice(W.FILLER_PREPOSITIONS), rng.choice(W.FILLER_DETERMINERS)]
        out += [rng.choice(W.FILLER_NOUNS)]
    return [*out, "."]


class Filler:
    """A fixed stream of filler sentences; `take(n)` gives its first n words as sentences."""

    def __init__(self, rng: random.Random, max_words: int) -> None:
        self.sentences: list[list[str]] = []
        total = 0
        while total < max_words:
            s = sentence(rng)
            self.sentences.append(s)
            total += len(s)

    def take(self, n_words: int) -> list[list[str]]:
        """First n_words words as sentences; a cut last sentence still ends with '.'."""
        out: list[list[str]] = []
        left = n_words
        for s in self.sentences:
            if left <= 0:
                break
            out.append(s if left >= len(s) else [*s[: left - 1], "."])
            left -= len(s)
        return out


def slots(k: int, inserts: Sequence[tuple[float, str]]) -> list[list[str]]:
    """The inserts at each of the k + 1 boundaries around k sentences: each (depth in [0, 1],
    text) at the nearest one; inserts with equal depth keep their order."""
    out: list[list[str]] = [[] for _ in range(k + 1)]
    for depth, text in inserts:
        if not 0.0 <= depth <= 1.0:
            raise ValueError(f"insert depth must be in [0, 1], got {depth}")
        out[round(depth * k)].append(text)
    return out


def weave(
    filler: Sequence[Sequence[str]], inserts: Sequence[tuple[float, str]], lead: str = ""
) -> str:
    """Join filler sentences, placing each (depth in [0, 1], text) at the nearest sentence boundary.

    Inserts with equal depth keep their order. `lead` (an instruction) opens the text.
    """
    k = len(filler)
    slots_ = slots(k, inserts)
    parts = [lead] if lead else []
    for i in range(k + 1):
        parts.extend(slots_[i])
        if i < k:
            parts.append(" ".join(filler[i]))
    return " ".join(p for p in parts if p)

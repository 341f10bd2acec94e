"""The task contract: a Sample, a Task (seeded generator + exact-match scorer), normalisation.

A task builds a prompt from a filler budget; `fit_to_length` searches that budget so the prompt
(context + question) has the requested number of tokens for whatever tokenizer is given.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from calibration.tasks.filler import Filler, weave

# Relative tolerance on the prompt length in tokens (context + question, special tokens included).
LENGTH_TOLERANCE = 0.01


class TokenizerLike(Protocol):
    """Any Hugging Face tokenizer: calling it on a string returns a mapping with input_ids."""

    def __call__(self, text: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Sample:
    """One prompt. The harness quantizes the cache of `context` before it processes `question`."""

    context: str
    question: str
    answer: str
    answers: tuple[str, ...] = ()
    task: str = ""

    @property
    def accepted(self) -> tuple[str, ...]:
        """All acceptable answers, the canonical one first."""
        return (self.answer, *[a for a in self.answers if a != self.answer])


@dataclass(frozen=True)
class Episode:
    """A context followed by one or more (question, answer) pairs; training uses several."""

    context: str
    qa: tuple[tuple[str, str], ...]


_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
_STOP = re.compile(r"[.\n]|<eos>|</s>|<\|endoftext\|>|<\|im_end\|>|<\|eot_id\|>")


def normalize(text: str) -> str:
    """Lower-case, turn punctuation into spaces, collapse whitespace: ' The  Fox!' -> 'the fox'."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def first_answer(prediction: str) -> str:
    """Cut a generated continuation at its first sentence end or end-of-sequence marker."""
    return _STOP.split(prediction, maxsplit=1)[0]


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the prediction's first sentence equals an acceptable answer after normalisation.

    Whitespace is ignored ('417 32' == '41732'): some tokenizers decode words without spaces.
    """
    got = normalize(first_answer(prediction)).replace(" ", "")
    return float(any(got == normalize(a).replace(" ", "") for a in answers))


def prompt_tokens(tokenizer: TokenizerLike, context: str, question: str) -> int:
    """Tokens of context + question as the tokenizer encodes them by default (BOS included)."""
    return len(tokenizer(context + question)["input_ids"])


def fit_to_length(
    build: Callable[[int], Episode], tokenizer: TokenizerLike, target_tokens: int, task: str
) -> Episode:
    """Largest filler budget n (words) whose episode fits in target_tokens; ValueError if none.

    build(n) must be deterministic and (nearly) monotone in n; one filler word is >= 1 token.
    A gap left by multi-token words is closed with ' .' tokens at the end of the context.
    """

    def tokens(ep: Episode) -> int:
        return prompt_tokens(tokenizer, ep.context, "".join(q for q, _ in ep.qa))

    def count(n: int) -> int:
        return tokens(build(n))

    if count(0) > target_tokens:
        raise ValueError(
            f"task {task!r}: context_tokens={target_tokens} is too small; its fixed part alone "
            f"takes {count(0)} tokens (lower the number of records/needles or ask for more tokens)"
        )
    lo, hi = 0, max(1, target_tokens)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(mid) <= target_tokens:
            lo = mid
        else:
            hi = mid - 1
    best = build(lo)
    got = tokens(best)
    for k in range(target_tokens - got, 0, -1):  # multi-token words may leave a gap: pad with ' .'
        padded = Episode(best.context + " ." * k, best.qa)
        if tokens(padded) <= target_tokens:
            best, got = padded, tokens(padded)
            break
    if abs(got - target_tokens) > max(1.0, LENGTH_TOLERANCE * target_tokens):
        raise ValueError(
            f"task {task!r}: could only reach {got} of {target_tokens} tokens with this tokenizer"
        )
    return best


Builder = Callable[[int], Episode]  # filler budget in words -> episode


class Task:
    """Seeded generator plus exact-match scorer.

    `episode` is the template: check the settings, let the subclass draw its content and return
    a builder (filler budget -> episode), then fit the budget to the requested length. A
    subclass supplies `check` and `builder`; most build with `woven` (inserts in prose filler).
    """

    name: ClassVar[str] = ""
    lead: ClassVar[str] = ""
    max_questions: ClassVar[int | None] = 1  # None: the subclass checks n_questions itself

    def check(self) -> None:
        """Raise ValueError naming the allowed values when a setting is out of range."""

    def builder(self, rng: random.Random, context_tokens: int, n_questions: int) -> Builder:
        raise NotImplementedError

    def woven(self, rng: random.Random, context_tokens: int,
              inserts: Sequence[tuple[float, str]], qa: tuple[tuple[str, str], ...]) -> Builder:
        """Inserts (depth, sentence) woven into prose filler after the task's lead sentence."""
        filler = Filler(rng, context_tokens)
        return lambda n_words: Episode(weave(filler.take(n_words), list(inserts), self.lead), qa)

    def episode(
        self,
        tokenizer: TokenizerLike,
        context_tokens: int,
        rng: random.Random,
        n_questions: int = 1,
    ) -> Episode:
        self.check()
        if self.max_questions is not None and n_questions != self.max_questions:
            raise ValueError(
                f"{self.name} asks exactly one question, got n_questions={n_questions}"
            )
        build = self.builder(rng, context_tokens, n_questions)
        return fit_to_length(build, tokenizer, context_tokens, self.name)

    def generate(
        self, tokenizer: TokenizerLike, context_tokens: int, n: int, seed: int
    ) -> list[Sample]:
        """n samples whose context + question has context_tokens tokens (±1%); same seed, same."""
        if context_tokens < 1 or n < 0:
            raise ValueError(f"need context_tokens >= 1 and n >= 0, got {context_tokens}, {n}")
        samples = []
        for i in range(n):
            rng = random.Random(f"{self.name}:{seed}:{context_tokens}:{i}")
            ep = self.episode(tokenizer, context_tokens, rng, n_questions=1)
            question, answer = ep.qa[0]
            samples.append(Sample(ep.context, question, answer, (answer,), self.name))
        return samples

    def score(self, prediction: str, sample: Sample) -> float:
        """Exact match (normalised) of the prediction's first sentence against sample.accepted."""
        return exact_match(prediction, sample.accepted)

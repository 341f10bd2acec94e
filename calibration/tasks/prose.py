"""Real English prose filler and chat templating for the tasks run on real instruct models.

The prose is the Python language reference that the standard library ships
(`pydoc_data.topics`) followed by the licence texts Debian installs (/usr/share/common-licenses),
read in order from a seeded sentence offset: never invented words. Not for the testbed, whose
word-level tokenizer knows only the synthetic vocabulary.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from calibration.tasks.base import Builder, Episode, Task, TokenizerLike, fit_to_length
from calibration.tasks.filler import slots

LICENCE_DIR = Path("/usr/share/common-licenses")
LICENCES = ("GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-3", "GFDL-1.3", "Artistic")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"(])")
_LONG_NUMBER = re.compile(r"\d{4,}")
REPLY = "\x00reply\x00"  # splits a task's question into its user part and the assistant's opening


@dataclass(frozen=True)
class Sentence:
    """One sentence of the source and the paragraph it belongs to (a new paragraph breaks lines)."""

    text: str
    paragraph: int


def _paragraphs(raw: str) -> list[str]:
    """Prose paragraphs of a plain-text document: no code, grammar, headings or centred titles."""
    out = []
    for block in re.split(r"\n\s*\n", raw):
        lines = block.split("\n")
        if not lines or len(lines[0]) - len(lines[0].lstrip(" ")) > 2:
            continue
        if any(line[:1].isspace() or not line.strip() for line in lines[1:]):
            continue
        if any(set(line.strip()) <= set("*=-~^#") for line in lines):
            continue
        text = " ".join(block.split())
        if text.endswith(".") and len(text.split()) >= 8:
            out.append(text)
    return out


def _sentences(paragraph: str) -> list[str]:
    return [
        s for s in _SENTENCE_END.split(paragraph)
        if len(s.split()) >= 5 and s[-1] in ".?!" and not _LONG_NUMBER.search(s)
    ]


def source_documents() -> list[tuple[str, str]]:
    """(name, text) of every prose document found here; ValueError when there is none."""
    docs: list[tuple[str, str]] = []
    try:
        topics: dict[str, str] = importlib.import_module("pydoc_data.topics").topics
    except ImportError:
        topics = {}
    docs += [(f"pydoc_data.topics[{k!r}]", topics[k]) for k in sorted(topics)]
    docs += [(str(LICENCE_DIR / n), (LICENCE_DIR / n).read_text(errors="replace"))
             for n in LICENCES if (LICENCE_DIR / n).is_file()]
    if not docs:
        raise ValueError(
            "no English prose found for the prose tasks: need the standard library's "
            f"pydoc_data.topics or Debian's licence texts in {LICENCE_DIR} ({', '.join(LICENCES)})"
        )
    return docs


@lru_cache(maxsize=1)
def corpus() -> tuple[Sentence, ...]:
    """Every prose sentence of the sources, in document order."""
    out: list[Sentence] = []
    paragraph = 0
    for _, text in source_documents():
        for p in _paragraphs(text):
            out += [Sentence(s, paragraph) for s in _sentences(p)]
            paragraph += 1
    return tuple(out)


class ProseFiller:
    """The corpus read in order from a seeded sentence offset (wrapping around at its end)."""

    def __init__(self, rng: random.Random) -> None:
        self.sentences = corpus()
        self.start = rng.randrange(len(self.sentences))

    def take(self, n_words: int) -> list[Sentence]:
        """Whole sentences totalling at most n_words words, then the first words of the next."""
        out: list[Sentence] = []
        left, i = n_words, self.start
        while left > 0:
            s = self.sentences[i % len(self.sentences)]
            words = s.text.split()
            out.append(s if len(words) <= left else Sentence(" ".join(words[:left]), s.paragraph))
            left -= len(words)
            i += 1
        return out


def weave_prose(filler: Sequence[Sentence], inserts: Sequence[tuple[float, str]],
                lead: str) -> str:
    """The lead, then the prose with each (depth in [0, 1], sentence) at the nearest boundary."""
    k = len(filler)
    at = slots(k, inserts)
    parts = [lead, "\n\n"]
    for i in range(k + 1):
        for text in at[i]:
            parts += [text, " "]
        if i < k:
            s = filler[i]
            parts += [s.text, "\n\n" if i + 1 < k and filler[i + 1].paragraph != s.paragraph
                      else " "]
    return "".join(parts).rstrip()


def ask(user: str, reply: str) -> str:
    """A question: the user's words, then the opening of the assistant's answer."""
    return f"{user}{REPLY}{reply}"


def chat_parts(tokenizer: TokenizerLike) -> tuple[str, str]:
    """(text before the user's message, text between it and the assistant's reply).

    With a chat template: the template's own system turn and markers, the assistant turn opened;
    a BOS the tokenizer adds itself is not repeated. Without one (a base model): plain text.
    """
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return "", "\n"
    apply: Callable[..., Any] = tokenizer.apply_chat_template  # type: ignore[attr-defined]
    mark = "\x00user\x00"
    text = str(apply([{"role": "user", "content": mark}], tokenize=False,
                     add_generation_prompt=True))
    head, tail = text.split(mark)
    bos = getattr(tokenizer, "bos_token", None)
    if bos and head.startswith(bos) and tokenizer("")["input_ids"]:
        head = head[len(bos):]
    return head, tail


class ProseTask(Task):
    """A task over real prose, chat-templated: Sample.context = template head + lead + prose
    (its cache is quantized), Sample.question = the question, the end of the user turn and the
    opened assistant turn with the answer's lead-in."""

    max_new_tokens: ClassVar[int] = 12  # greedy tokens the answer may need (plus its end)

    def woven(self, rng: random.Random, context_tokens: int,
              inserts: Sequence[tuple[float, str]], qa: tuple[tuple[str, str], ...]) -> Builder:
        filler = ProseFiller(rng)
        return lambda n_words: Episode(weave_prose(filler.take(n_words), inserts, self.lead), qa)

    def episode(self, tokenizer: TokenizerLike, context_tokens: int, rng: random.Random,
                n_questions: int = 1) -> Episode:
        self.check()
        if self.max_questions is not None and n_questions != self.max_questions:
            raise ValueError(f"{self.name} asks exactly one question, got {n_questions}")
        head, tail = chat_parts(tokenizer)
        build = self.builder(rng, context_tokens, n_questions)

        def chat(n_words: int) -> Episode:
            ep = build(n_words)
            qa = tuple(("\n\n" + q.replace(REPLY, tail), a) for q, a in ep.qa)
            return Episode(head + ep.context, qa)

        return fit_to_length(chat, tokenizer, context_tokens, self.name)

"""MMLU JSONL (question, choices, answer as letter or index) as Samples; choice-letter scoring.

Example line: {"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1}  (or "B").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from calibration.benchmarks.jsonl import field_error, read_records
from calibration.benchmarks.metrics import choice_letter
from calibration.tasks.base import Sample

LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class MMLU:
    name: ClassVar[str] = "mmlu"

    def load(self, path: str | Path, limit: int | None = None) -> list[Sample]:
        samples = []
        for line_no, r in read_records(path, ("question", "choices", "answer"), limit):
            choices = r["choices"]
            if not isinstance(choices, list) or not 2 <= len(choices) <= len(LETTERS):
                raise field_error(
                    path, line_no, "choices", f"must be a list of 2-{len(LETTERS)} options"
                )
            letters = LETTERS[: len(choices)]
            ans = r["answer"]
            if isinstance(ans, int) and not isinstance(ans, bool) and 0 <= ans < len(choices):
                letter = letters[ans]
            elif isinstance(ans, str) and ans.strip().upper() in letters and ans.strip():
                letter = ans.strip().upper()
            else:
                raise field_error(
                    path,
                    line_no,
                    "answer",
                    f"must be one of {', '.join(letters)} or an index 0-{len(choices) - 1}",
                )
            lines = [
                str(r["question"]),
                *(f"{x}. {c}" for x, c in zip(letters, choices, strict=True)),
            ]
            samples.append(Sample("\n".join(lines), "\nAnswer:", letter, (letter,), self.name))
        return samples

    def score(self, prediction: str, sample: Sample) -> float:
        """1.0 when the first standalone choice letter of the prediction is the right one."""
        n = sample.context.count("\n")  # one line per choice after the question
        return float(choice_letter(prediction, n) == sample.answer)

"""LongBench-style JSONL (fields context, input, answers) as Samples; F1 or Rouge-L scoring.

One record per line, e.g. {"context": "...", "input": "Who ...?", "answers": ["Ada"]}.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from calibration.benchmarks.jsonl import field_error, read_records
from calibration.benchmarks.metrics import rouge_l, token_f1
from calibration.tasks.base import Sample

METRICS = {"f1": token_f1, "rouge_l": rouge_l}


@dataclass(frozen=True)
class LongBench:
    """metric 'f1' (QA sets such as HotpotQA, Qasper) or 'rouge_l' (summarisation sets)."""

    name: ClassVar[str] = "longbench"
    metric: str = "f1"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; allowed: {', '.join(METRICS)}")

    def load(self, path: str | Path, limit: int | None = None) -> list[Sample]:
        samples = []
        for line_no, r in read_records(path, ("context", "input", "answers"), limit):
            answers = r["answers"]
            if isinstance(answers, str):
                answers = [answers]
            if (
                not isinstance(answers, list)
                or not answers
                or not all(isinstance(a, str) for a in answers)
            ):
                raise field_error(path, line_no, "answers", "must be a non-empty list of strings")
            question = f"\n\nQuestion: {r['input']}\nAnswer:"
            samples.append(
                Sample(str(r["context"]), question, answers[0], tuple(answers), self.name)
            )
        return samples

    def score(self, prediction: str, sample: Sample) -> float:
        """Best metric value over the acceptable answers (prediction cut at its first line)."""
        first_line = prediction.strip().split("\n")[0]
        return max(METRICS[self.metric](first_line, a) for a in sample.accepted)

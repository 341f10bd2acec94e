"""GSM8k JSONL (fields question, answer with '#### <number>') as Samples; final-number scoring.

The reference answer keeps only the number after '####'; predictions may reason first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from calibration.benchmarks.jsonl import field_error, read_records
from calibration.benchmarks.metrics import final_number
from calibration.tasks.base import Sample


@dataclass(frozen=True)
class GSM8k:
    name: ClassVar[str] = "gsm8k"

    def load(self, path: str | Path, limit: int | None = None) -> list[Sample]:
        samples = []
        for line_no, r in read_records(path, ("question", "answer"), limit):
            answer = str(r["answer"])
            number = final_number(answer)
            if "####" not in answer or number is None:
                raise field_error(path, line_no, "answer", "must end with '#### <number>'")
            context = f"Question: {r['question']}"
            samples.append(Sample(context, "\nAnswer:", number, (number,), self.name))
        return samples

    def score(self, prediction: str, sample: Sample) -> float:
        """1.0 when the prediction's final number equals the reference number."""
        return float(final_number(prediction) == sample.answer)

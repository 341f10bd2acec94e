"""Loaders for local public-benchmark JSONL files (LongBench-style, GSM8k, MMLU); nothing is
downloaded. Each yields the task `Sample` type and scores predictions like the original benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from calibration.benchmarks.gsm8k import GSM8k
from calibration.benchmarks.jsonl import BenchmarkFileError
from calibration.benchmarks.longbench import LongBench
from calibration.benchmarks.mmlu import MMLU
from calibration.tasks.base import Sample


class Benchmark(Protocol):
    """A local-file benchmark: `load` reads Samples, `score` grades one prediction in [0, 1]."""

    @property
    def name(self) -> str: ...

    def load(self, path: str | Path, limit: int | None = None) -> list[Sample]: ...

    def score(self, prediction: str, sample: Sample) -> float: ...


BENCHMARKS: dict[str, Benchmark] = {
    "longbench": LongBench(metric="f1"),
    "longbench_rouge": LongBench(metric="rouge_l"),
    "gsm8k": GSM8k(),
    "mmlu": MMLU(),
}

__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkFileError", "GSM8k", "LongBench", "MMLU"]

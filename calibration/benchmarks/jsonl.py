"""Reading local benchmark JSONL files with errors that name the file, line and field.

Nothing is downloaded: the user points at files they already have.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


class BenchmarkFileError(ValueError):
    """A benchmark file is missing, not JSONL, or a record lacks a field."""


def read_records(
    path: str | Path, required: Sequence[str], limit: int | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for each non-blank line; every record must have `required`."""
    p = Path(path)
    if not p.is_file():
        raise BenchmarkFileError(f"{p}: no such file")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    n = 0
    with p.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if limit is not None and n >= limit:
                return
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise BenchmarkFileError(f"{p}:{line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise BenchmarkFileError(
                    f"{p}:{line_no}: expected a JSON object, got {type(record).__name__}"
                )
            missing = [k for k in required if k not in record]
            if missing:
                raise BenchmarkFileError(
                    f"{p}:{line_no}: missing field {missing[0]!r} (required: {', '.join(required)})"
                )
            n += 1
            yield line_no, record
    if n == 0:
        raise BenchmarkFileError(f"{p}: no records")


def field_error(path: str | Path, line_no: int, name: str, why: str) -> BenchmarkFileError:
    return BenchmarkFileError(f"{Path(path)}:{line_no}: field {name!r} {why}")

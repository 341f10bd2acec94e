"""Validation reports written by `kvpareto validate`, read from the validations folder.

Read on request (the folder changes while the service runs), off the event loop, and cached by
(mtime, size): an unchanged file is parsed once. Only regular files inside the folder, under
`models.artifact.MAX_REPORT_BYTES`, are read; the others are listed with the reason.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from models.artifact import ArtifactError, ValidationReport, load_report

Entry = tuple[tuple[int, int, int], ValidationReport | str]
_CACHE: dict[str, Entry] = {}
_LOCK = threading.Lock()


def _one(path: Path) -> ValidationReport | str:
    try:
        st = os.stat(path)  # never opens: a FIFO cannot block here
    except OSError as exc:
        return f"{path.name}: cannot be read ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"{path.name}: refused: not a regular file"
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _LOCK:
        hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    try:  # load_report refuses links out of the folder and re-checks the file it opened
        value: ValidationReport | str = load_report(path)
    except ArtifactError as exc:
        value = str(exc)
    with _LOCK:
        _CACHE[str(path)] = (key, value)
    return value


def made_by(report: ValidationReport, served: str | None) -> bool | None:
    """Whether the artifact of `served` (its created_at) made the report's predictions; None
    when either is unknown (no artifact served, or a report written before reports kept it)."""
    if served is None or report.artifact_created_at is None:
        return None
    return report.artifact_created_at == served


def load_reports(
    folder: Path, limit: int = 10_000
) -> tuple[list[tuple[str, ValidationReport]], dict[str, str]]:
    """(file name, report) sorted by creation time, and the files that were refused.

    At most `limit` files are read (by name); the rest are listed as skipped.
    """
    reports: list[tuple[str, ValidationReport]] = []
    errors: dict[str, str] = {}
    if not folder.is_dir():
        return reports, errors
    paths = sorted(folder.glob("*.json"))
    for path in paths[limit:]:
        errors[path.name] = f"{path.name}: skipped: more than {limit} reports in the folder"
    seen = {str(p) for p in paths[:limit]}
    for path in paths[:limit]:
        got = _one(path)
        if isinstance(got, str):
            errors[path.name] = got
        else:
            reports.append((path.name, got))
    with _LOCK:  # forget files that are gone from this folder
        for key in [k for k in _CACHE if Path(k).parent == folder and k not in seen]:
            del _CACHE[key]
    reports.sort(key=lambda item: item[1].created_at)
    return reports, errors

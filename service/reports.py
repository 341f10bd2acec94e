"""Validation reports written by `kvpareto validate`, read from the validations folder.

Read on request (the folder changes while the service runs); unreadable files are listed.
"""

from __future__ import annotations

from pathlib import Path

from models.artifact import ArtifactError, ValidationReport, load_report


def load_reports(folder: Path) -> tuple[list[tuple[str, ValidationReport]], dict[str, str]]:
    """(file name, report) sorted by creation time, and the files that were refused."""
    reports: list[tuple[str, ValidationReport]] = []
    errors: dict[str, str] = {}
    if not folder.is_dir():
        return reports, errors
    for path in sorted(folder.glob("*.json")):
        try:
            reports.append((path.name, load_report(path)))
        except ArtifactError as exc:
            errors[path.name] = str(exc)
    reports.sort(key=lambda item: item[1].created_at)
    return reports, errors

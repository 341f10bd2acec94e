"""`GET /v1/validations`: predicted-vs-measured reports written by `kvpareto validate`.

Optionally filtered by model; refused files are listed with the reason, not hidden.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from models.artifact import ValidationReport
from service.deps import SettingsDep
from service.errors import documented
from service.reports import load_reports

router = APIRouter(prefix="/v1", tags=["validations"])


class FiledReport(BaseModel):
    file: str
    report: ValidationReport


class ValidationsResponse(BaseModel):
    reports: list[FiledReport] = Field(description="this page, oldest first")
    total: int = Field(description="reports matching the filter, over all pages")
    offset: int
    limit: int
    errors: dict[str, str]


@router.get("/validations", responses=documented(422))
def validations(
    settings: SettingsDep,
    model: str | None = Query(None, max_length=128),
    limit: int = Query(100, ge=1, le=1000, description="reports in this page"),
    offset: int = Query(0, ge=0, le=1 << 31, description="reports skipped"),
) -> ValidationsResponse:
    """Plain `def`: files are read (cached by mtime and size) in the threadpool."""
    reports, errors = load_reports(settings.validations_dir, settings.max_reports)
    chosen = [FiledReport(file=f, report=r) for f, r in reports if model in (None, r.model)]
    return ValidationsResponse(reports=chosen[offset:offset + limit], total=len(chosen),
                               offset=offset, limit=limit, errors=errors)

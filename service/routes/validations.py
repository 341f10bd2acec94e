"""`GET /v1/validations`: predicted-vs-measured reports written by `kvpareto validate`.

Optionally filtered by model; refused files are listed with the reason, not hidden.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from models.artifact import ValidationReport
from service.deps import SettingsDep
from service.reports import load_reports

router = APIRouter(prefix="/v1", tags=["validations"])


class FiledReport(BaseModel):
    file: str
    report: ValidationReport


class ValidationsResponse(BaseModel):
    reports: list[FiledReport]
    errors: dict[str, str]


@router.get("/validations")
async def validations(
    settings: SettingsDep, model: str | None = Query(None, max_length=128)
) -> ValidationsResponse:
    reports, errors = load_reports(settings.validations_dir)
    chosen = [FiledReport(file=f, report=r) for f, r in reports if model in (None, r.model)]
    return ValidationsResponse(reports=chosen, errors=errors)

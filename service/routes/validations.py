"""`GET /v1/validations`: predicted-vs-measured reports written by `kvpareto validate`.

Optionally filtered by model; refused files are listed with the reason, not hidden. Each report
says whether its predictions are the served artifact's: a refit after the report makes it stale
(`kvpareto rescore` predicts its measurements again with the artifact served now).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from models.artifact import ValidationReport
from service.deps import RegistryDep, SettingsDep
from service.errors import documented
from service.registry import Registry
from service.reports import load_reports, made_by

router = APIRouter(prefix="/v1", tags=["validations"])


class FiledReport(BaseModel):
    file: str
    current: bool | None = Field(description="true: its predictions are the served artifact's; "
                                 "false: the model was refit since; null: not known")
    note: str
    report: ValidationReport


def filed(name: str, report: ValidationReport, registry: Registry) -> FiledReport:
    entry = registry.models.get(report.model)
    served = entry.calibration.artifact.created_at if entry and entry.calibration else None
    current = made_by(report, served)
    if served is None:
        note = f"{report.model} has no artifact served now"
    elif current is None:
        note = ("predicted by an artifact it did not record (written before reports kept it); "
                f"the artifact served now is of {served}")
    elif current:
        note = "predicted by the artifact served now"
    else:
        note = (f"predicted by the artifact of {report.artifact_created_at}; {report.model} was "
                f"refit since ({served}): `kvpareto rescore` predicts these measurements again")
    return FiledReport(file=name, current=current, note=note, report=report)


class ValidationsResponse(BaseModel):
    reports: list[FiledReport] = Field(description="this page, oldest first")
    total: int = Field(description="reports matching the filter, over all pages")
    offset: int
    limit: int
    errors: dict[str, str]


@router.get("/validations", responses=documented(422))
def validations(
    settings: SettingsDep,
    registry: RegistryDep,
    model: str | None = Query(None, max_length=128),
    limit: int = Query(100, ge=1, le=1000, description="reports in this page"),
    offset: int = Query(0, ge=0, le=1 << 31, description="reports skipped"),
) -> ValidationsResponse:
    """Plain `def`: files are read (cached by mtime and size) in the threadpool."""
    reports, errors = load_reports(settings.validations_dir, settings.max_reports)
    chosen = [filed(f, r, registry) for f, r in reports if model in (None, r.model)]
    return ValidationsResponse(reports=chosen[offset:offset + limit], total=len(chosen),
                               offset=offset, limit=limit, errors=errors)

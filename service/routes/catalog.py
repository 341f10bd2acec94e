"""`GET /v1/models`: the served specs and how each is calibrated.

Validation figures come from the newest report per model in the validations folder, with whether
the served artifact made its predictions.
"""

from __future__ import annotations

from fastapi import APIRouter

from models.artifact import ValidationReport
from models.memory import DEFAULT_RUNTIME, PROFILES, kv_bytes_per_token_16bit
from models.regime import longest_anchor
from models.space import CHUNKS, KV_BITS
from service.deps import RegistryDep, SettingsDep
from service.grid import WEIGHT_IDS
from service.registry import ModelEntry
from service.reports import load_reports, made_by
from service.schemas.responses import (
    Calibration,
    MetricInfo,
    ModelInfo,
    ModelsResponse,
    RuntimeInfo,
    RuntimesResponse,
)

router = APIRouter(prefix="/v1", tags=["models"])


def calibration(entry: ModelEntry, reports: list[ValidationReport]) -> Calibration | None:
    cal = entry.calibration
    if cal is None:
        return None
    art = cal.artifact
    metrics = [
        MetricInfo(task=f.task, metric=f.metric, kind=f.kind,
                   higher_is_better=f.kind == "accuracy", coverage=f.coverage,
                   interval_half_width=f.interval_q, cv_mae=f.cv_mae, contexts=f.contexts,
                   n_runs=f.n_runs)
        for by_metric in art.accuracy.values() for f in by_metric.values()
    ]
    mine = [r for r in reports if r.model == entry.name]
    last = mine[-1] if mine else None
    residuals = art.memory.residuals if art.memory else []
    anchors = {task: longest_anchor(fits) for task, fits in sorted(art.accuracy.items())}
    return Calibration(
        artifact_file=cal.path.name, created_at=art.created_at,
        schema_version=art.schema_version, code_version=art.code_version,
        calibrated_contexts=art.calibrated_contexts, tasks=sorted(art.accuracy),
        longest_anchor_tokens={t: n for t, n in anchors.items() if n is not None}, metrics=metrics,
        memory_fitted=art.memory is not None,
        memory_runtime=art.memory.runtime if art.memory else None,
        memory_profiles=sorted(art.memory_profiles),
        memory_fit_max_abs_rel_residual=max((abs(r) for r in residuals), default=None),
        kv_error_keys=len(art.kv_error), predictable_configurations=len(cal.predictable),
        validation_reports=len(mine),
        validation_memory_median_abs_rel_error=last.memory_median_abs_rel_error if last else None,
        validation_accuracy_mae=last.accuracy_mae if last else None,
        validation_accuracy_coverage=last.accuracy_coverage if last else None,
        validation_current=None if last is None else made_by(last, art.created_at),
    )


@router.get("/models")
def list_models(registry: RegistryDep, settings: SettingsDep) -> ModelsResponse:
    """Plain `def`: the reports are read (cached) in the threadpool, off the event loop."""
    reports = [r for _, r in load_reports(settings.validations_dir, settings.max_reports)[0]]
    infos = []
    for name, entry in sorted(registry.models.items()):
        s = entry.spec
        infos.append(ModelInfo(
            name=name, model_type=s.model_type, parameters=s.parameters,
            num_layers=s.num_layers, hidden_size=s.hidden_size, num_heads=s.num_heads,
            num_kv_heads=s.num_kv_heads, head_dim=s.head_dim, vocab_size=s.vocab_size,
            max_positions=s.max_positions, kv_bytes_per_token_16bit=kv_bytes_per_token_16bit(s),
            configurations=len(entry.grid), calibrated=entry.calibration is not None,
            calibration=calibration(entry, reports),
        ))
    allowed: dict[str, list[str | int]] = {
        "weights": list(WEIGHT_IDS), "k_bits": list(KV_BITS), "v_bits": list(KV_BITS),
        "chunks": ["cfull", *[f"c{c}" for c in CHUNKS]],
    }
    return ModelsResponse(models=infos, unsupported=registry.unsupported,
                          artifact_errors=registry.errors, allowed=allowed)


@router.get("/runtimes")
def list_runtimes() -> RuntimesResponse:
    """The runtime profiles a memory answer can be for (`runtime` in the prediction requests)."""
    return RuntimesResponse(runtimes=[
        RuntimeInfo(name=p.name, doc=p.doc, attention=p.attention, logits=p.logits,
                    overhead_bytes=p.overhead_bytes, default=p.name == DEFAULT_RUNTIME)
        for p in PROFILES.values()])

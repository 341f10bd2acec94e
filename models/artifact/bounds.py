"""Bounds of the numbers an artifact may hold: far beyond any real fit, far below overflow."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

SCHEMA_VERSION = 4
# Interval growth per doubling of the context beyond the calibrated range, where a fit cannot
# measure it (one calibrated context); see models.accuracy.MetricModel (widen).
EXTRAPOLATION_WIDENING = 0.5
ARTIFACT_KIND = "kvpareto.artifact"
REPORT_KIND = "kvpareto.validation"
# Bounds of the numbers an artifact may hold.
MAX_MEMORY_COEF = 1e12  # a transient coefficient (bytes per term unit, or bytes for *.const)
MAX_OVERHEAD_BYTES = 1 << 50  # 1 PiB
MAX_BOUND_FACTOR = 10.0  # a memory fit 10x off is no fit
MAX_KV_ERROR = 100.0  # relative reconstruction error
MAX_ACCURACY_NUMBER = 1e12  # coefficients (collinear fits run large), knots, baselines, widths
MAX_ARTIFACT_BYTES = 16 << 20  # larger files are refused unread
MAX_REPORT_BYTES = 4 << 20

MemoryCoef = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MEMORY_COEF,
                                    le=MAX_MEMORY_COEF)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ACCURACY_NUMBER,
                                le=MAX_ACCURACY_NUMBER)]
Width = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_ACCURACY_NUMBER)]
KVError = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_KV_ERROR)]
Context = Annotated[int, Field(gt=0, le=1 << 24)]



class ArtifactError(ValueError):
    """An artifact file that is unreadable, corrupt, foreign or of another schema version."""

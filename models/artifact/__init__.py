"""The per-model calibration artifact: versioned JSON validated by pydantic, never pickled.

One file per model: the fitted memory coefficients (with residuals), the measured K/V
quantization errors per scheme side, and one accuracy model per (task, metric) (`schema`).
Validation reports written by `kvpareto validate` share the format (`report`) and the readers
(`files`); `bounds` holds the limits every number and file is held to.
"""

from models.artifact.bounds import (
    ARTIFACT_KIND,
    EXTRAPOLATION_WIDENING,
    MAX_ACCURACY_NUMBER,
    MAX_ARTIFACT_BYTES,
    MAX_KV_ERROR,
    MAX_MEMORY_COEF,
    MAX_OVERHEAD_BYTES,
    MAX_REPORT_BYTES,
    REPORT_KIND,
    SCHEMA_VERSION,
    ArtifactError,
)
from models.artifact.files import (
    artifact_path,
    load_artifact,
    load_report,
    read_regular,
    write_json_atomic,
)
from models.artifact.report import ValidationPoint, ValidationReport
from models.artifact.schema import SAFE_NAME, Artifact, MemoryFit, MetricFit

__all__ = [
    "ARTIFACT_KIND", "EXTRAPOLATION_WIDENING", "MAX_ACCURACY_NUMBER", "MAX_ARTIFACT_BYTES",
    "MAX_KV_ERROR", "MAX_MEMORY_COEF", "MAX_OVERHEAD_BYTES", "MAX_REPORT_BYTES", "REPORT_KIND",
    "SAFE_NAME", "SCHEMA_VERSION", "Artifact", "ArtifactError", "MemoryFit", "MetricFit",
    "ValidationPoint", "ValidationReport", "artifact_path", "load_artifact", "load_report",
    "read_regular", "write_json_atomic",
]

"""Plain records that cross the store boundary: the idempotent run key and one run's measurement.

Pure dataclasses (no SQLAlchemy, no torch), so executors can ship them to Ray workers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

VALIDATION_SEED = 1_000_003  # `kvpareto validate` re-runs use it; fits never read these runs


@dataclass(frozen=True, order=True)
class RunKey:
    """What identifies a run: re-running a key that is stored is skipped."""

    model: str
    config: str
    context_tokens: int
    task: str
    seed: int
    n: int
    device: str = "cpu"

    def label(self) -> str:
        return f"{self.model} {self.config} L={self.context_tokens} {self.task} s{self.seed}"


@dataclass
class Measurement:
    """What one run measured (bytes are integers; metrics are means over the n samples)."""

    status: str = "ok"  # ok | failed
    peak_bytes: int | None = None
    weights_bytes: int | None = None
    cache_bytes: int | None = None
    transient_bytes: int | None = None
    phase_bytes: dict[str, int] | None = None  # peak live bytes per forward phase (probe)
    exact_match: float | None = None
    exact_match_lower: float | None = None
    exact_match_upper: float | None = None
    top1: float | None = None
    kl: float | None = None
    answer_nll: float | None = None
    k_error: float | None = None
    v_error: float | None = None
    seconds: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Measurement:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def failed(cls, error: str, seconds: float | None = None) -> Measurement:
        return cls(status="failed", error=error[:2000], seconds=seconds)

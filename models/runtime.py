"""The runtime a memory measurement comes from, named by its fingerprint.

Peaks depend on the kernel path as well as on the model: on a CPU with AMX, oneDNN's bf16
kernels make chunked prefills peak 13-35 % above the AVX-512 path (docs/memory.md). A fit is
only as good as the runtime it was measured on, so every run records a fingerprint and an
artifact names the runtime of its memory fit. Torch-free: the calibration side collects it.
"""

from __future__ import annotations

from collections.abc import Mapping

# the fingerprint's keys that change peak bytes (versions and CPU model are kept for the record)
KERNEL_KEYS = ("device", "attention", "dtype", "kernel")
UNRECORDED = "unrecorded"


def runtime_label(fingerprint: Mapping[str, str]) -> str:
    """A short name such as ``cpu-sdpa-bf16-avx512_core_bf16``; runs of one label share a
    memory fit. A fingerprint without a kernel path (runs stored before it was recorded) is
    ``...-unrecorded``."""
    if not fingerprint.get("kernel"):
        return f"{fingerprint.get('device') or 'cpu'}-{UNRECORDED}"
    return "-".join(fingerprint.get(k) or UNRECORDED for k in KERNEL_KEYS)


def same_kernels(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two fingerprints name one kernel path (unrecorded never matches)."""
    return all(a.get(k) == b.get(k) and a.get(k) not in (None, UNRECORDED) for k in KERNEL_KEYS)

"""One run = one configuration × context × task × seed on one model → one measured row.

Failures (RuntimeError, MemoryError, torch OOM, bad input) come back as a failed Measurement
with the error text, so a sweep records them and goes on; interrupts still propagate.
"""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata

from calibration.runtime import fingerprint
from calibration.store.records import Measurement, RunKey

MeasureFn = Callable[[str, RunKey], Measurement]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "autoawq"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def measure_real(model_dir: str, key: RunKey, attention: str = "sdpa") -> Measurement:
    """Real inference (imports torch lazily); the run records its runtime, `attention`
    included (bind it with functools.partial for a sweep under another attention)."""
    return measure_real_group(model_dir, [key], attention)[0]


def measure_real_group(model_dir: str, keys: Sequence[RunKey], attention: str = "sdpa",
                       threads: int = 1) -> list[Measurement]:
    """Real inference of runs that share a `calibration.measurement.group_of`, measured
    together: peaks on one thread, accuracy on `threads`; each records its runtime and the
    threads. Raises on failure."""
    import torch

    from calibration.measurement import measure_group

    torch.set_num_threads(1)
    out = measure_group(model_dir, keys, attention, threads)
    stamp = versions() | fingerprint(keys[0].device, attention=attention)
    stamp["accuracy_threads"] = str(threads)
    for m in out:
        m.versions = dict(stamp)
    return out


def run_group(model_dir: str, keys: Sequence[RunKey], threads: int = 1) -> list[Measurement]:
    """`measure_real_group`; if the group fails, each key is run alone, so one bad configuration
    fails only its own row. Each row's seconds are the group's divided evenly."""
    if len(keys) == 1:
        return [run_one(model_dir, keys[0])]
    start = time.perf_counter()
    try:
        out = measure_real_group(model_dir, keys, threads=threads)
    except Exception:  # noqa: BLE001 - retried one by one: each failure is its own row's data
        return [run_one(model_dir, key) for key in keys]
    seconds = round((time.perf_counter() - start) / len(keys), 4)
    for m in out:
        m.seconds = seconds
    return out


def run_one(model_dir: str, key: RunKey, measure: MeasureFn | None = None) -> Measurement:
    """Measure one key; any Exception becomes a failed measurement with its error text."""
    start = time.perf_counter()
    try:
        m = (measure or measure_real)(model_dir, key)
    except Exception as exc:  # noqa: BLE001 - every failure is data for the store
        m = Measurement.failed(traceback.format_exception_only(type(exc), exc)[-1].strip())
    m.seconds = round(time.perf_counter() - start, 4)
    m.versions = m.versions or (versions() | fingerprint(key.device))
    return m

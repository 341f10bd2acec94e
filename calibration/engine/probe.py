"""Peak-memory probe: the largest live bytes while a prefill (or any call) runs, split by term
and by phase (the stage of the forward pass that was running: `calibration.engine.phases`).

CPU: torch.profiler's allocator events (profile_memory=True) summed in order — byte-repeatable,
sees kernels' internal buffers (RSS is ±10% noisy, tracemalloc blind to tensors); one session at
a time (two at once crash the process), so a lock serialises them. Phases are record_function
spans in the same trace. CUDA: max_memory_allocated, its peak counter reset at every phase edge.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.autograd import DeviceType  # type: ignore[attr-defined]
from torch.profiler import ProfilerActivity, profile, record_function

from calibration.engine.driver import model_device, prefill
from calibration.engine.loading import weight_bytes_held
from calibration.engine.phases import OTHER, Spans, marked
from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme

T = TypeVar("T")
_PROFILER_LOCK = threading.Lock()


@dataclass(frozen=True)
class PeakMemory:
    """Bytes: peak = weights + cache + transient (the ledger's split, runtime overhead excluded).

    `cache_bytes` is the cache after the call; `transient_bytes` what the peak held beyond it.
    `phase_bytes`: per phase that ran, the most bytes live (weights included) meanwhile; the
    peak is their max.
    """

    peak_bytes: int
    weights_bytes: int
    cache_bytes: int
    phase_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def transient_bytes(self) -> int:
        return self.peak_bytes - self.weights_bytes - self.cache_bytes


SPAN_PREFIX = "kvpareto::"


class _TraceSpans:
    """Phases as record_function spans in the profiler's trace (read back after the call)."""

    def __init__(self) -> None:
        self.open: list[record_function] = []

    def enter(self, phase: str) -> None:
        span = record_function(SPAN_PREFIX + phase)
        span.__enter__()
        self.open.append(span)

    def exit(self, phase: str) -> None:
        self.open.pop().__exit__(None, None, None)


def _phase_peaks(events: list[Any]) -> tuple[int, dict[str, int]]:
    """Sweep the trace in time order: live bytes, and their max under each innermost span."""
    # (time, order, phase, bytes); at one instant a span starts (0) before memory moves (1)
    # and ends (2) after, so a span owns what is allocated at its edges
    marks: list[tuple[int, int, str, int]] = []
    for e in events:
        name = e.name()
        if name == "[memory]":
            if e.device_type() == DeviceType.CPU:  # the CPU allocator only
                marks.append((e.start_ns(), 1, "", e.nbytes()))
        elif name.startswith(SPAN_PREFIX):
            phase = name[len(SPAN_PREFIX):]
            marks.append((e.start_ns(), 0, phase, 0))
            marks.append((e.start_ns() + e.duration_ns(), 2, phase, 0))
    marks.sort(key=lambda m: (m[0], m[1]))
    stack: list[str] = []
    live = peak = 0
    phases = {OTHER: 0}  # only the phases that ran
    for _, order, phase, nbytes in marks:
        if order == 0:
            stack.append(phase)
        elif order == 2 and stack:
            stack.pop()
        live += nbytes
        peak = max(peak, live)
        top = stack[-1] if stack else OTHER
        phases[top] = max(phases.get(top, 0), live)
    return peak, phases


def _cpu_peak_delta(fn: Callable[[Spans], T]) -> tuple[T, int, dict[str, int]]:
    spans = _TraceSpans()
    with _PROFILER_LOCK:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            result = fn(spans)
        peak, phases = _phase_peaks(prof.profiler.kineto_results.events())
        # the trace sits in a reference cycle: uncollected, each probe's stays (1 GB for a
        # 64-token-chunk prefill of 2,048 tokens on a 30-layer model; bench.probe_rss)
        del prof
        gc.collect()
    return result, peak, phases


class _CudaSpans:
    """Phases on CUDA: at each edge the peak so far goes to the phase that was running."""

    def __init__(self, device: torch.device, start: int) -> None:
        self.device, self.start = device, start
        self.stack: list[str] = []
        self.phases = {OTHER: 0}  # only the phases that ran

    def flush(self) -> None:
        top = self.stack[-1] if self.stack else OTHER
        used = torch.cuda.max_memory_allocated(self.device) - self.start
        self.phases[top] = max(self.phases.get(top, 0), used)
        torch.cuda.reset_peak_memory_stats(self.device)

    def enter(self, phase: str) -> None:
        self.flush()
        self.stack.append(phase)

    def exit(self, phase: str) -> None:
        self.flush()
        self.stack.pop()


def _cuda_peak_delta(
    fn: Callable[[Spans], T], device: torch.device
) -> tuple[T, int, dict[str, int]]:
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    spans = _CudaSpans(device, start)
    result = fn(spans)
    torch.cuda.synchronize(device)
    spans.flush()
    return result, max(spans.phases.values()), spans.phases


def phase_peak_delta(
    fn: Callable[[Spans], T], device: torch.device | str = "cpu"
) -> tuple[T, int, dict[str, int]]:
    """Run fn(spans); return its result, the peak bytes allocated beyond what was live at start,
    and that peak per phase that fn announced through `spans` (`OTHER` outside every phase)."""
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_peak_delta(fn, device)
    if device.type != "cpu":
        raise ValueError(f"device must be cpu or cuda; got {device.type!r}")
    return _cpu_peak_delta(fn)


def peak_delta(fn: Callable[[], T], device: torch.device | str = "cpu") -> tuple[T, int]:
    """Run fn(); return its result and the peak bytes allocated beyond what was live at start."""
    result, peak, _ = phase_peak_delta(lambda _spans: fn(), device)
    return result, peak


def probe_prefill(
    model: Any, input_ids: Tensor, scheme: KVScheme, chunk: int | None
) -> tuple[PeakMemory, QuantizedKVCache]:
    """Peak of a chunked prefill of input_ids [1, L] into a fresh cache (weights live before).

    The last-position logits are made and kept (logits_to_keep=1), as the driver does.
    """
    device = model_device(model)
    ids = input_ids.to(device)

    def run(spans: Spans) -> QuantizedKVCache:
        cache = QuantizedKVCache.for_model(scheme, model)
        with marked(model, cache, spans):
            prefill(model, ids, cache, chunk)
        return cache

    cache, delta, phases = phase_peak_delta(run, device)
    weights = weight_bytes_held(model)
    by_phase = {k: weights + v for k, v in phases.items()}
    return PeakMemory(weights + delta, weights, cache.nbytes, by_phase), cache

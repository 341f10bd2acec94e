"""Peak-memory probe: the largest live bytes while a prefill (or any call) runs, split by term.

CPU: torch.profiler's allocator events (profile_memory=True) summed in order — byte-repeatable,
sees kernels' internal buffers (RSS is ±10% noisy, tracemalloc blind to tensors); one session at
a time (two at once crash the process), so a lock serialises them. CUDA: max_memory_allocated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from calibration.engine.driver import model_device, prefill
from calibration.engine.loading import weight_bytes_held
from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme

T = TypeVar("T")
_PROFILER_LOCK = threading.Lock()


@dataclass(frozen=True)
class PeakMemory:
    """Bytes: peak = weights + cache + transient (the ledger's split, runtime overhead excluded).

    `cache_bytes` is the cache after the call; `transient_bytes` what the peak held beyond it.
    """

    peak_bytes: int
    weights_bytes: int
    cache_bytes: int

    @property
    def transient_bytes(self) -> int:
        return self.peak_bytes - self.weights_bytes - self.cache_bytes


def _cpu_peak_delta(fn: Callable[[], T]) -> tuple[T, int]:
    with _PROFILER_LOCK:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            result = fn()
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        if e.device_type() == DeviceType.CPU:  # the CPU allocator only
            live += e.nbytes()
            peak = max(peak, live)
    return result, peak


def _cuda_peak_delta(fn: Callable[[], T], device: torch.device) -> tuple[T, int]:
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    result = fn()
    torch.cuda.synchronize(device)
    return result, torch.cuda.max_memory_allocated(device) - start


def peak_delta(fn: Callable[[], T], device: torch.device | str = "cpu") -> tuple[T, int]:
    """Run fn(); return its result and the peak bytes allocated beyond what was live at start."""
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_peak_delta(fn, device)
    if device.type != "cpu":
        raise ValueError(f"device must be cpu or cuda; got {device.type!r}")
    return _cpu_peak_delta(fn)


def probe_prefill(
    model: Any, input_ids: Tensor, scheme: KVScheme, chunk: int | None
) -> tuple[PeakMemory, QuantizedKVCache]:
    """Peak of a chunked prefill of input_ids [1, L] into a fresh cache (weights live before).

    The last-position logits are made and kept (logits_to_keep=1), as the driver does.
    """
    device = model_device(model)
    ids = input_ids.to(device)

    def run() -> QuantizedKVCache:
        cache = QuantizedKVCache.for_model(scheme, model)
        prefill(model, ids, cache, chunk)
        return cache

    cache, delta = peak_delta(run, device)
    weights = weight_bytes_held(model)
    return PeakMemory(weights + delta, weights, cache.nbytes), cache

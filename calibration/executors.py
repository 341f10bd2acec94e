"""Executors run keys and yield (key, measurement) as runs finish: in process, or on Ray.

`sweep` is the driver: it skips keys already stored and records each result in its own
transaction, so a sweep killed at any point resumes without losing or repeating a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from calibration.runner import MeasureFn, run_group, run_one
from calibration.store import Measurement, RunKey, Store

Result = tuple[RunKey, Measurement]


class Executor(Protocol):
    def map(self, model_dir: str, keys: Sequence[RunKey]) -> Iterator[Result]: ...

    def close(self) -> None: ...


GROUP = 16  # runs measured together at most: the answer passes' batch (16 and the reference)


class LocalExecutor:
    """Runs every key in this process: real inference measures the keys that share weights,
    task, context and prompts together (`run_group`, up to `group` at a time); a custom
    `measure` runs them one by one, in order. Accuracy runs on `threads` (peaks on one)."""

    def __init__(self, measure: MeasureFn | None = None, group: int = GROUP,
                 threads: int = 1) -> None:
        self.measure = measure
        self.group = group
        self.threads = threads

    def map(self, model_dir: str, keys: Sequence[RunKey]) -> Iterator[Result]:
        if self.measure is not None:
            for key in keys:
                yield key, run_one(model_dir, key, self.measure)
            return
        for batch in groups(keys, self.group):
            yield from zip(batch, run_group(model_dir, batch, self.threads), strict=True)

    def close(self) -> None:
        return None


def groups(keys: Sequence[RunKey], size: int) -> list[list[RunKey]]:
    """Keys of one `group_of` together (first appearance first), at most `size` a group; a key
    whose configuration does not parse is its own group (its run records the error)."""
    from calibration.measurement import group_of

    buckets: dict[object, list[RunKey]] = {}
    for i, key in enumerate(keys):
        try:
            label: object = group_of(key)
        except ValueError:
            label = i
        buckets.setdefault(label, []).append(key)
    return [b[i : i + size] for b in buckets.values() for i in range(0, len(b), size)]


# Not shipped to a cluster: the environment, measured runs, history and caches.
CLUSTER_EXCLUDES = [".git", ".venv", "runs", "docs", "tests", "**/__pycache__", "*.egg-info",
                    ".mypy_cache", ".pytest_cache", ".ruff_cache"]


def cluster_runtime_env() -> dict[str, Any]:
    """What the workers of a Ray cluster need from this machine: in a checkout, the checkout
    itself (Ray's `working_dir`: the code, and relative model folders such as
    models/testbed/testbed-llama resolve there too); for an installed package, its two packages
    (`py_modules`; the model folder must then be a hub id or a path the workers share)."""
    import calibration
    import models

    root = Path(calibration.__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return {"working_dir": str(root), "excludes": CLUSTER_EXCLUDES}
    return {"py_modules": [str(Path(str(m.__file__)).resolve().parent)
                           for m in (calibration, models)],
            "excludes": CLUSTER_EXCLUDES}


class RayExecutor:
    """One Ray remote task per run; a local Ray (num_cpus) unless `address` names a cluster,
    whose workers get this project's code through `cluster_runtime_env`."""

    def __init__(
        self, address: str | None = None, num_cpus: int = 2, measure: MeasureFn | None = None,
        max_in_flight: int = 64,
    ) -> None:
        import ray

        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            kwargs: dict[str, Any] = (
                {"address": address, "runtime_env": cluster_runtime_env()} if address
                else {"num_cpus": num_cpus})
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self._task = ray.remote(num_cpus=1, max_retries=0)(run_one)
        self.measure = measure
        self.max_in_flight = max_in_flight

    def map(self, model_dir: str, keys: Sequence[RunKey]) -> Iterator[Result]:
        ray = self._ray
        queue = list(keys)
        pending: dict[Any, RunKey] = {}
        while queue or pending:
            while queue and len(pending) < self.max_in_flight:
                key = queue.pop(0)
                pending[self._task.remote(model_dir, key, self.measure)] = key  # type: ignore[call-arg]
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                key = pending.pop(ref)
                try:
                    yield key, ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a dead worker is a failed run
                    yield key, Measurement.failed(f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def make_executor(name: str, address: str | None = None,
                  measure: MeasureFn | None = None, threads: int = 1, group: int = GROUP
                  ) -> Executor:
    if name == "local":
        return LocalExecutor(measure, group=group, threads=threads)
    if name == "ray":
        return RayExecutor(address, measure=measure)
    raise ValueError(f"--executor must be one of local, ray; got {name!r}")


def sweep(
    store: Store, executor: Executor, model_dir: str, keys: Sequence[RunKey],
    on_result: Callable[[RunKey, Measurement], None] | None = None,
) -> list[Result]:
    """Run the keys not yet stored; record each as it finishes. Returns the new results."""
    done = store.done(keys)
    todo = list(dict.fromkeys(k for k in keys if k not in done))
    out = []
    for key, m in executor.map(model_dir, todo):
        store.record(key, m)
        out.append((key, m))
        if on_result is not None:
            on_result(key, m)
    return out

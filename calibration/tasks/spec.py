"""Task specs: a registered name with optional integer settings, `kv_uuid:n_pairs=4`."""

from __future__ import annotations

import dataclasses

from calibration.tasks.base import Task


def parse_task(spec: str, registry: dict[str, Task]) -> Task:
    """'kv_uuid' or 'kv_uuid:n_pairs=4,...' -> the registered task with those integer settings."""
    name, _, knobs = spec.partition(":")
    if name not in registry:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(sorted(registry))}")
    task = registry[name]
    if not knobs:
        return task
    fields = {f.name for f in dataclasses.fields(task)}  # type: ignore[arg-type]
    changes = {}
    for item in knobs.split(","):
        key, _, value = item.partition("=")
        if key not in fields:
            raise ValueError(f"task {name!r} has no setting {key!r}; allowed: {sorted(fields)}")
        try:
            changes[key] = int(value)
        except ValueError:
            raise ValueError(f"task {name!r}: {key} must be an integer; got {value!r}") from None
    return dataclasses.replace(task, **changes)  # type: ignore[type-var]


def split_tasks(text: str) -> list[str]:
    """'kv_uuid:n_pairs=4,n_x=2,needle' -> ['kv_uuid:n_pairs=4,n_x=2', 'needle']: a piece with
    '=' and no ':' is one more setting of the task before it (task names hold no '=')."""
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece and ":" not in piece and specs:
            specs[-1] += "," + piece
        else:
            specs.append(piece)
    return specs

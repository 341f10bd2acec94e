"""Long-context tasks registered by name (seeded generator + exact-match scorer).

`TESTBED_TASKS` use the synthetic vocabulary the testbed is trained on; `PROSE_TASKS` hide their
records in real English prose, chat-templated, for real instruct models; `TASKS` holds both.

`TASKS[name].generate(tokenizer, context_tokens, n, seed)` -> list[Sample]; `.score(pred, sample)`.
Harder variants: `parse_task("kv_retrieval:n_records=256")` (or instantiate the task class).
"""

from calibration.tasks.base import Sample, Task
from calibration.tasks.frequent_words import FrequentWords
from calibration.tasks.kv_retrieval import KVRetrieval
from calibration.tasks.kv_uuid import KVUuid
from calibration.tasks.needle import Needle
from calibration.tasks.needle_prose import NeedleProse
from calibration.tasks.passkey import Passkey
from calibration.tasks.passkey_prose import PasskeyProse
from calibration.tasks.prose import ProseTask
from calibration.tasks.spec import parse_task as _parse_task
from calibration.tasks.spec import split_tasks
from calibration.tasks.variable_tracking import VariableTracking
from calibration.tasks.vartrack_prose import VarTrackProse

TESTBED_TASKS: dict[str, Task] = {
    "passkey": Passkey(),
    "needle": Needle(),
    "kv_retrieval": KVRetrieval(),
    "variable_tracking": VariableTracking(),
    "frequent_words": FrequentWords(),
}

PROSE_TASKS: dict[str, Task] = {
    "passkey_prose": PasskeyProse(),
    "needle_prose": NeedleProse(),
    "kv_uuid": KVUuid(),
    "vartrack_prose": VarTrackProse(),
}

TASKS: dict[str, Task] = {**TESTBED_TASKS, **PROSE_TASKS}


def parse_task(spec: str) -> Task:
    """A registered task by name, with optional integer settings: `kv_uuid:n_pairs=4`."""
    return _parse_task(spec, TASKS)


__all__ = [
    "PROSE_TASKS",
    "TASKS",
    "TESTBED_TASKS",
    "FrequentWords",
    "KVRetrieval",
    "KVUuid",
    "Needle",
    "NeedleProse",
    "Passkey",
    "PasskeyProse",
    "ProseTask",
    "Sample",
    "Task",
    "VarTrackProse",
    "parse_task",
    "split_tasks",
    "VariableTracking",
]

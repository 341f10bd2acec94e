"""Synthetic long-context tasks registered by name (seeded generator + exact-match scorer).

`TASKS[name].generate(tokenizer, context_tokens, n, seed)` -> list[Sample]; `.score(pred, sample)`.
Harder variants: instantiate the task class with other parameters (e.g. KVRetrieval(n_records=256)).
"""

from calibration.tasks.base import Sample, Task
from calibration.tasks.frequent_words import FrequentWords
from calibration.tasks.kv_retrieval import KVRetrieval
from calibration.tasks.needle import Needle
from calibration.tasks.passkey import Passkey
from calibration.tasks.variable_tracking import VariableTracking

TASKS: dict[str, Task] = {
    "passkey": Passkey(),
    "needle": Needle(),
    "kv_retrieval": KVRetrieval(),
    "variable_tracking": VariableTracking(),
    "frequent_words": FrequentWords(),
}

__all__ = [
    "TASKS",
    "FrequentWords",
    "KVRetrieval",
    "Needle",
    "Passkey",
    "Sample",
    "Task",
    "VariableTracking",
]

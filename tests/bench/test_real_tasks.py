"""bench.real_tasks: task specs with settings parse to the registered task, bad ones are refused."""

from __future__ import annotations

import pytest

from bench.real_tasks import parse_task
from calibration.tasks import PROSE_TASKS, KVUuid


def test_plain_name_is_the_registered_task() -> None:
    assert parse_task("kv_uuid") is PROSE_TASKS["kv_uuid"]


def test_settings_replace_the_defaults() -> None:
    assert parse_task("kv_uuid:n_pairs=3") == KVUuid(n_pairs=3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nope", "unknown task"), ("kv_uuid:pairs=3", "has no setting")],
    ids=["unknown-task", "unknown-setting"],
)
def test_bad_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_task(spec)


def test_outlier_summary_is_min_median_max_over_layers_of_the_task_mean():
    from bench.real_tasks import outlier_summary

    per_task = [(2.0, 10.0, 4.0), (4.0, 30.0, 4.0)]  # two tasks, three layers
    assert outlier_summary(per_task) == (3.0, 4.0, 20.0)

"""Task specs with settings parse to the registered task, bad ones are refused."""

from __future__ import annotations

import pytest

from calibration.tasks import PROSE_TASKS, KVRetrieval, KVUuid, parse_task, split_tasks


def test_plain_name_is_the_registered_task() -> None:
    assert parse_task("kv_uuid") is PROSE_TASKS["kv_uuid"]


def test_settings_replace_the_defaults() -> None:
    assert parse_task("kv_uuid:n_pairs=3") == KVUuid(n_pairs=3)
    assert parse_task("kv_retrieval:n_records=128") == KVRetrieval(n_records=128)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nope", "unknown task"), ("kv_uuid:pairs=3", "has no setting"),
     ("kv_uuid:n_pairs=two", "must be an integer")],
    ids=["unknown-task", "unknown-setting", "not-an-integer"],
)
def test_bad_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_task(spec)


def test_a_task_list_keeps_each_variant_whole() -> None:
    assert split_tasks("kv_uuid:n_pairs=4,needle_prose") == ["kv_uuid:n_pairs=4", "needle_prose"]
    assert split_tasks(" kv_retrieval:n_records=64,n_queries=1 , passkey,") == [
        "kv_retrieval:n_records=64,n_queries=1", "passkey"]
    assert split_tasks("") == []

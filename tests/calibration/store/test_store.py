"""The results store: idempotent run keys, failed runs, K/V error table, artifacts, URLs."""

import pytest

from calibration.settings import database_url
from calibration.store import Measurement, RunKey, Store

KEY = RunKey("m", "w16-k16v16-cfull", 256, "passkey", 0, 4)


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "runs.db"))
    yield s
    s.close()


def test_record_is_idempotent_on_the_run_key(store):
    assert store.record(KEY, Measurement(peak_bytes=10, exact_match=1.0))
    assert not store.record(KEY, Measurement(peak_bytes=99))
    [(key, m)] = store.runs("m")
    assert key == KEY
    assert m.peak_bytes == 10
    assert m.exact_match == 1.0


@pytest.mark.parametrize("field", ["config", "context_tokens", "task", "seed", "n", "device"])
def test_every_key_field_distinguishes_runs(store, field):
    other = {"config": "w4-k16v16-cfull", "context_tokens": 512, "task": "needle", "seed": 1,
             "n": 8, "device": "cuda"}[field]
    store.record(KEY, Measurement())
    key2 = RunKey(**{**KEY.__dict__, field: other})
    assert store.record(key2, Measurement())
    assert store.done([KEY, key2]) == {KEY, key2}


def test_failed_runs_keep_their_error_and_count_as_done(store):
    store.record(KEY, Measurement.failed("RuntimeError: out of memory"))
    assert store.runs("m") == []
    [(_, m)] = store.runs("m", status="failed")
    assert m.error == "RuntimeError: out of memory"
    assert store.done([KEY]) == {KEY}


def test_kv_error_table_is_replaced_per_device(store):
    store.save_kv_error("m", "cpu", {"k4-token": 0.1, "v4-token": 0.2})
    store.save_kv_error("m", "cpu", {"k4-token": 0.3})
    assert store.kv_error("m", "cpu") == {"k4-token": 0.3}
    assert store.kv_error("m", "cuda") == {}


def test_weights_kl_is_one_value_per_prompt_set_replaced_on_remeasure(store):
    store.save_weights_kl("m", "cpu", ("w4", "passkey", 512, 0, 64), 0.08)
    store.save_weights_kl("m", "cpu", ("w4", "passkey", 512, 0, 64), 0.09)
    store.save_weights_kl("m", "cpu", ("w4", "passkey", 1024, 0, 64), 0.11)
    assert store.weights_kl("m") == {("w4", "passkey", 512, 0, 64): 0.09,
                                     ("w4", "passkey", 1024, 0, 64): 0.11}
    assert store.weights_kl("m", "cuda") == {}
    assert store.weights_kl("other") == {}


def test_artifact_and_validation_rows_hash_the_file(store, tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{}")
    store.add_artifact("m", path)
    store.add_validation("m", "passkey", 256, path, {"accuracy_mae": 0.1})
    [row] = store.artifacts("m")
    assert row.sha256 == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_urls_and_paths(tmp_path, monkeypatch):
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert database_url(str(tmp_path / "a" / "b.db")) == f"sqlite:///{tmp_path}/a/b.db"
    monkeypatch.setenv("KVPARETO_DB", str(tmp_path / "env.db"))
    assert Store().url == f"sqlite:///{tmp_path}/env.db"


def test_a_store_from_before_phase_bytes_gains_the_column_and_keeps_its_runs(tmp_path):
    import sqlite3
    from dataclasses import replace

    path = tmp_path / "old.db"
    s = Store(str(path))
    s.record(KEY, Measurement(peak_bytes=10))
    s.close()
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE runs DROP COLUMN phase_bytes")  # what an older version made
    con.commit()
    con.close()
    s = Store(str(path))
    ((key, m),) = s.runs("m")
    assert key == KEY
    assert m.peak_bytes == 10
    assert m.phase_bytes is None
    assert s.record(replace(KEY, seed=1), Measurement(peak_bytes=11, phase_bytes={"mlp": 11}))
    assert {m.peak_bytes: m.phase_bytes for _, m in s.runs("m")} == {10: None, 11: {"mlp": 11}}
    s.close()


def test_weights_kl_keeps_its_spread_and_can_be_forgotten(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    store.save_weights_kl("m", "cpu", ("w4g64", "passkey", 512, 0, 64), 0.08, 0.02)
    store.save_weights_kl("m", "cpu", ("w4", "passkey", 512, 0, 64), 0.09)
    assert store.weights_kl_sd("m") == {("w4g64", "passkey", 512, 0, 64): 0.02}
    store.delete_weights_kl("m", "cpu", ("w4g64", "passkey", 512, 0, 64))
    assert store.weights_kl("m") == {("w4", "passkey", 512, 0, 64): 0.09}

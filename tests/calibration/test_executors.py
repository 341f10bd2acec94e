"""Executors and the sweep driver: skip what is stored, record failures, Ray one task per run."""

import pytest

from calibration.executors import LocalExecutor, RayExecutor, make_executor, sweep
from calibration.runner import run_one
from calibration.store import Measurement, RunKey, Store


def keys(n=4):
    return [RunKey("m", "w16-k16v16-cfull", 128 * (i + 1), "passkey", 0, 2) for i in range(n)]


def fake(model_dir, key):
    if key.context_tokens == 256:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return Measurement(peak_bytes=key.context_tokens, exact_match=1.0)


def test_run_one_turns_errors_into_failed_rows():
    m = run_one("x", keys()[1], fake)
    assert m.status == "failed" and "out of memory" in m.error and m.seconds is not None
    assert run_one("x", keys()[0], lambda d, k: (_ for _ in ()).throw(MemoryError())).status \
        == "failed"
    assert run_one("x", keys()[0], fake).versions["python"]


def test_sweep_records_failures_goes_on_and_skips_done(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    seen = []
    new = sweep(store, LocalExecutor(fake), "x", keys(), lambda k, m: seen.append(k))
    assert len(new) == 4 and seen == keys()
    assert len(store.runs("m")) == 3 and len(store.runs("m", "failed")) == 1
    assert sweep(store, LocalExecutor(fake), "x", keys() + keys(6)) != []
    assert len(store.runs("m", None)) == 6


def test_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="local, ray"):
        make_executor("dask")


def test_ray_runs_one_remote_task_per_run(tmp_path):
    def measure(model_dir, key):  # a closure: shipped to the workers by value
        import os

        return Measurement(peak_bytes=key.context_tokens, versions={"pid": str(os.getpid())})

    store = Store(str(tmp_path / "ray.db"))
    ex = RayExecutor(num_cpus=2, measure=measure)
    try:
        new = sweep(store, ex, "x", keys(4))
    finally:
        ex.close()
    assert sorted(k for k, _ in new) == sorted(keys(4))
    rows = store.runs("m")
    assert sorted(m.peak_bytes for _, m in rows) == [128, 256, 384, 512]
    import os

    assert all(m.versions["pid"] != str(os.getpid()) for _, m in rows)

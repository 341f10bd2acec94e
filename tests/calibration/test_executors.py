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
    assert m.status == "failed"
    assert "out of memory" in m.error
    assert m.seconds is not None
    assert run_one("x", keys()[0], lambda d, k: (_ for _ in ()).throw(MemoryError())).status \
        == "failed"
    assert run_one("x", keys()[0], fake).versions["python"]


def test_sweep_records_failures_goes_on_and_skips_done(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    seen = []
    new = sweep(store, LocalExecutor(fake), "x", keys(), lambda k, m: seen.append(k))
    assert len(new) == 4
    assert seen == keys()
    assert len(store.runs("m")) == 3
    assert len(store.runs("m", "failed")) == 1
    assert sweep(store, LocalExecutor(fake), "x", keys() + keys(6)) != []
    assert len(store.runs("m", None)) == 6


def test_the_local_executor_takes_its_group_size():
    assert make_executor("local", group=4).group == 4  # type: ignore[attr-defined]
    assert make_executor("local").group == 16  # type: ignore[attr-defined]


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


def test_a_ray_cluster_gets_the_code_and_relative_model_folders(tmp_path, monkeypatch):
    """A real Ray head (`ray start`, as on a cluster), joined by address: the workers import
    this project from the shipped working_dir, where the testbed's relative paths resolve."""
    import shutil
    import socket
    import subprocess
    import sys
    from pathlib import Path

    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        ray_bin = Path(shutil.which("ray") or "ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = [str(ray_bin), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
            "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats"]
    # a throwaway cluster on this machine: no token (Ray 2.60 otherwise makes one per head)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    subprocess.run(head, check=True, capture_output=True, cwd=tmp_path, timeout=120)

    def measure(model_dir, key):
        import os

        import calibration

        return Measurement(peak_bytes=1, versions={
            "cwd": os.getcwd(), "code": calibration.__file__,
            "model": str(os.path.isfile(os.path.join(model_dir, "config.json")))})

    try:
        ex = RayExecutor(address=f"127.0.0.1:{port}", measure=measure)
        try:
            new = sweep(Store("sqlite://"), ex, "models/testbed/testbed-llama", keys(1))
        finally:
            ex.close()
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, timeout=120)
    (_, m), = new
    assert m.status == "ok", m.error
    here = Path(__file__).resolve().parents[2]
    assert Path(m.versions["cwd"]).resolve() != here  # a copy, as a remote node would have
    assert Path(m.versions["code"]).resolve().is_relative_to(Path(m.versions["cwd"]).resolve())
    assert m.versions["model"] == "True"


def test_groups_share_weights_task_context_and_prompts():
    from calibration.executors import groups

    ks = [RunKey("m", c, L, t, 0, 4) for c, L, t in [
        ("w16-k4v2-token-r0-c64", 128, "passkey"), ("w4-k4v2-token-r0-c64", 128, "passkey"),
        ("w16-k8v8-token-r0-c64", 128, "passkey"), ("w16-k8v8-token-r0-c64", 256, "passkey"),
        ("w16-k2v2-token-r0-c64", 128, "needle"), ("nonsense", 128, "passkey"),
        ("w16-k2v4-token-r0-c64", 128, "passkey")]]
    assert groups(ks, 16) == [[ks[0], ks[2], ks[6]], [ks[1]], [ks[3]], [ks[4]], [ks[5]]]
    assert groups(ks, 2)[:2] == [[ks[0], ks[2]], [ks[6]]]


def test_a_group_measures_what_each_run_measures_alone(tmp_path, tiny_model_dir):
    """Real inference on the tiny model: one group (one reference pass a prompt, the answer
    passes batched) against the same keys run one by one."""
    import torch

    from calibration.runner import run_group

    configs = ["w16-k4v2-token-r0-c64", "w16-k8v8-channel-r32-cfull", "w16-k16v16-cfull"]
    keys = [RunKey("tiny", c, 128, "passkey", 0, 2) for c in configs]
    together = run_group(str(tiny_model_dir), keys, threads=2)  # accuracy on two threads
    assert torch.get_num_threads() == 1  # the peaks' one thread, back after the accuracy
    for key, m in zip(keys, together, strict=True):
        alone = run_one(str(tiny_model_dir), key)
        assert (m.versions["accuracy_threads"], alone.versions["accuracy_threads"]) == ("2", "1")
        assert m.status == alone.status == "ok"
        assert m.peak_bytes == alone.peak_bytes
        assert m.exact_match == alone.exact_match
        assert (m.k_error, m.v_error) == (alone.k_error, alone.v_error)
        assert m.kl == pytest.approx(alone.kl, rel=1e-3, abs=1e-6)
        assert m.answer_nll == pytest.approx(alone.answer_nll, rel=1e-3)
        assert m.seconds == together[0].seconds


def test_anchor_seeds_run_the_16bit_baseline_on_each_seed_at_every_length(tmp_path):
    """`Campaign.anchor_spread`: the 16-bit model alone on every other prompt seed at every
    calibrated and anchor length and task, resumably; the calibration's own seed is refused."""
    from calibration.campaign import Campaign

    store = Store(str(tmp_path / "s.db"))
    model = tmp_path / "tiny"
    model.mkdir()
    camp = Campaign(store, LocalExecutor(lambda d, k: Measurement(exact_match=1.0)), model,
                    [128, 256], ["passkey", "kv_retrieval"], n=2, anchor_contexts=[512],
                    anchor_seeds=[1, 2])
    camp.anchor_spread()
    got = {(k.config, k.context_tokens, k.task, k.seed) for k, _ in store.runs("tiny")}
    assert got == {("w16-k16v16-cfull", L, t, s) for L in (128, 256, 512)
                   for t in ("passkey", "kv_retrieval") for s in (1, 2)}
    camp.anchor_spread()  # stored keys are skipped
    assert len(store.runs("tiny")) == 12
    with pytest.raises(ValueError, match="calibration's own prompt seed"):
        Campaign(store, LocalExecutor(), model, [128], ["passkey"], anchor_seeds=[0]
                 ).anchor_spread()


def test_a_harder_variant_is_a_task_of_its_own(tmp_path, tiny_model_dir):
    """A task spec with settings runs through the store like a name, on its own prompts."""
    keys = [RunKey("tiny", "w16-k8v8-token-r0-cfull", 128, t, 0, 2)
            for t in ("kv_retrieval", "kv_retrieval:n_records=8")]
    store = Store(str(tmp_path / "v.db"))
    sweep(store, LocalExecutor(), str(tiny_model_dir), keys)
    rows = {k.task: m for k, m in store.runs("tiny")}
    assert set(rows) == {"kv_retrieval", "kv_retrieval:n_records=8"}
    assert all(m.status == "ok" for m in rows.values())
    assert rows["kv_retrieval"].answer_nll != rows["kv_retrieval:n_records=8"].answer_nll

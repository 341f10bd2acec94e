"""An admin reload reaches every worker (`uvicorn --workers N`: one registry per process)."""

from __future__ import annotations

import os
import time

from fastapi.testclient import TestClient

from service.main import create_app
from service.reload import ReloadSignal, default_marker
from service.testing.synthetic import CALIBRATED, write_synthetic

AUTH = {"Authorization": "Bearer test-admin-token"}
SECOND = "SmolLM2-135M-Instruct"


def calibrated(client: TestClient) -> set[str]:
    return {m["name"] for m in client.get("/v1/models").json()["models"] if m["calibrated"]}


def test_a_reload_in_one_worker_reaches_the_other(settings, tmp_path):
    shared = settings.model_copy(update={"reload_marker": tmp_path / "marker"})
    with TestClient(create_app(shared)) as a, TestClient(create_app(shared)) as b:
        b.app.state.reload_signal.every_s = 0.0  # look on every request
        assert calibrated(a) == calibrated(b) == {CALIBRATED}
        write_synthetic(settings.artifact_dir, SECOND, seed=1)
        assert calibrated(b) == {CALIBRATED}  # nothing announced yet: b keeps its snapshot
        assert a.post("/v1/admin/reload", headers=AUTH).status_code == 200
        assert calibrated(a) == calibrated(b) == {CALIBRATED, SECOND}


def test_a_refused_reload_announces_nothing(settings, tmp_path):
    shared = settings.model_copy(update={"reload_marker": tmp_path / "marker"})
    with TestClient(create_app(shared)) as a, TestClient(create_app(shared)) as b:
        b.app.state.reload_signal.every_s = 0.0
        (settings.artifact_dir / f"{SECOND}.json").write_text("{not json")
        assert a.post("/v1/admin/reload", headers=AUTH).status_code == 409
        assert not (tmp_path / "marker").exists()
        assert calibrated(b) == {CALIBRATED}


def test_a_worker_that_cannot_load_the_announced_set_keeps_its_own(settings, tmp_path):
    shared = settings.model_copy(update={"reload_marker": tmp_path / "marker"})
    with TestClient(create_app(shared)) as b:
        b.app.state.reload_signal.every_s = 0.0
        (settings.artifact_dir / f"{SECOND}.json").write_text("{not json")
        ReloadSignal(tmp_path / "marker").announce()  # another worker, another disk state
        assert calibrated(b) == {CALIBRATED}
        assert b.get("/healthz").status_code == 200


def test_the_signal_is_rate_limited_and_never_blocks_on_a_fifo(tmp_path):
    path = tmp_path / "marker"
    me, other = ReloadSignal(path, every_s=3600.0), ReloadSignal(path, every_s=0.0)
    other.announce()
    assert not me.changed()  # looked less than every_s ago
    me.every_s = 0.0
    assert me.changed()
    assert not me.changed()  # the same token once seen
    path.unlink()
    os.mkfifo(path)
    start = time.monotonic()
    assert ReloadSignal(path).read() == ""
    assert time.monotonic() - start < 1.0


def test_workers_of_one_server_share_a_marker_per_artifact_folder(tmp_path):
    assert default_marker(tmp_path / "a") == default_marker(tmp_path / "a")
    assert default_marker(tmp_path / "a") != default_marker(tmp_path / "b")
    assert str(os.getppid()) in default_marker(tmp_path).name


def test_two_real_workers_follow_one_admin_reload(settings, tmp_path):
    """The `make run` server (two uvicorn workers): after one reload, every fresh connection,
    whichever worker takes it, sees the new artifact set."""
    import subprocess

    import httpx

    from bench.load import server_command
    from service.testing.live import free_port, wait_healthy

    port = free_port()
    cmd = server_command(port)
    assert "--workers" in cmd
    env = {**os.environ, "KVPARETO_ARTIFACT_DIR": str(settings.artifact_dir),
           "KVPARETO_ADMIN_TOKEN": "test-admin-token"}
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60.0, lambda: proc.poll() is None)

        def seen() -> list[set[str]]:
            out = []
            for _ in range(12):  # new connections: the kernel spreads them over the workers
                with httpx.Client() as c:
                    models = c.get(f"{url}/v1/models", timeout=10).json()["models"]
                out.append({m["name"] for m in models if m["calibrated"]})
            return out

        assert all(s == {CALIBRATED} for s in seen())
        write_synthetic(settings.artifact_dir, SECOND, seed=1)
        r = httpx.post(f"{url}/v1/admin/reload", headers=AUTH, timeout=30)
        assert r.status_code == 200
        time.sleep(1.0)  # workers look at the marker at most every 0.5 s
        assert all(s == {CALIBRATED, SECOND} for s in seen())
    finally:
        proc.terminate()
        proc.wait(timeout=20)

"""Fault tests: a sweep SIGKILLed mid-run resumes exactly once per run; failing configurations
are recorded while the rest complete; a corrupted artifact is refused with a clear message."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calibration.cli import app
from calibration.executors import LocalExecutor, sweep
from calibration.store import RunKey, Store
from models.artifact import ArtifactError, load_artifact

REPO = Path(__file__).resolve().parents[2]
SWEEP = textwrap.dedent("""
    import sys, time
    from calibration.executors import LocalExecutor, sweep
    from calibration.store import Measurement, RunKey, Store
    db, log = sys.argv[1], sys.argv[2]
    keys = [RunKey("m", "w16-k16v16-cfull", 64 + i, "passkey", 0, 1) for i in range(30)]
    def measure(model_dir, key):
        with open(log, "a") as fh:
            fh.write(f"{key.context_tokens}\\n")
        time.sleep(0.1)
        return Measurement(peak_bytes=key.context_tokens)
    sweep(Store(db), LocalExecutor(measure), "x", keys)
""")


def test_sigkilled_sweep_resumes_without_loss_or_repeat(tmp_path):
    db, log = tmp_path / "s.db", tmp_path / "started.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SWEEP, str(db), str(log)], env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # a run's line is written after the previous one is stored
            if log.exists() and len(log.read_text().split()) >= 7:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    store = Store(str(db))
    before = {k.context_tokens for k, _ in store.runs("m")}
    assert 6 <= len(before) < 30
    log.write_text("")
    subprocess.run([sys.executable, "-c", SWEEP, str(db), str(log)], env=env, check=True)
    rerun = {int(x) for x in log.read_text().split()}
    assert not rerun & before  # nothing completed is repeated
    rows = store.runs("m")
    assert sorted(k.context_tokens for k, _ in rows) == list(range(64, 94))  # each exactly once


def test_a_failing_configuration_is_recorded_and_the_rest_complete(tmp_path, tiny_model_dir):
    configs = ["w16-k4v2-token-r0-c64", "w16-k4v4-block128-r0-cfull", "w16-k8v8-channel-r32-c64"]
    keys = [RunKey("tiny", c, 128, "passkey", 0, 2) for c in configs]
    store = Store(str(tmp_path / "f.db"))
    sweep(store, LocalExecutor(), str(tiny_model_dir), keys)
    ok = {k.config for k, _ in store.runs("tiny")}
    [(bad, m)] = store.runs("tiny", "failed")
    assert ok == {configs[0], configs[2]}
    assert bad.config == configs[1]
    assert "does not divide head_dim 64" in m.error


@pytest.mark.parametrize(
    ("content", "needle"),
    [('{"kind": "kvpareto.artifact", "schema_version": 4, "model": "x", "con', "corrupt JSON"),
     ('{"kind": "kvpareto.artifact", "schema_version": 4, "model": "x"}', "invalid artifact"),
     ('{"kind": "kvpareto.artifact", "schema_version": 99}', "schema version"),
     ("\x00\x01binary", "corrupt JSON")],
    ids=["truncated", "missing-field", "other-version", "binary"],
)
def test_a_corrupted_artifact_is_refused(tmp_path, tiny_model_dir, monkeypatch, content, needle):
    path = tmp_path / f"{tiny_model_dir.name}.json"
    path.write_text(content)
    with pytest.raises(ArtifactError, match=needle):
        load_artifact(path)
    monkeypatch.setenv("KVPARETO_ARTIFACT_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["validate", "--model", str(tiny_model_dir), "--context", "128",
                                 "--db", str(tmp_path / "v.db")])
    assert r.exit_code == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

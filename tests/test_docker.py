"""The Dockerfile built and run: the image's own HEALTHCHECK passes and it serves a frontier.

Skips, with the reason, where no container engine works (`apt-get install podman runc`) or no
base image can be had (python:3.11-slim not pullable and no mmdebstrap to make the Debian one).
Reuses the base image when present; the image itself is rebuilt each time (the engine's layer cache
makes that seconds when nothing changed, ~1.5 min when the pip layer must rerun). Every engine call
has a timeout and the container is removed however the test ends.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import httpx
import pytest

from scripts import docker_image as di

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image() -> tuple[str, str]:
    try:
        name = di.engine()
    except di.NoEngine as e:
        pytest.skip(f"no container engine: {e}")
    ok, why = di.pypi_reachable()
    if not ok:
        pytest.skip(why)
    try:
        base = di.base(name, timeout=240)
    except di.NoEngine as e:
        pytest.skip(str(e))
    # always built: the engine's layer cache makes an unchanged tree a few seconds' build
    # within pytest's 600 s: base ≤ 240 s (32–110 s measured), build ≤ 300 s (85 s cold)
    di.build(name, base, di.IMAGE, timeout=300, quiet=True)
    return name, di.IMAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engine(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([name, *di.engine_args(name), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_image_health_check_and_frontier(image):
    name, tag = image
    port, container = free_port(), f"kvpareto-test-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(di.run_args(name, tag, port, container), capture_output=True,
                             text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, engine(name, "logs", container).stderr[-2000:]
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["artifacts_loaded"] >= 1
        assert body["artifact_errors"] == 0

        # the Dockerfile's HEALTHCHECK: as the engine runs it (podman), and its command as written
        test = json.loads(engine(name, "image", "inspect", "--format",
                                 "{{json .Config.Healthcheck.Test}}", tag).stdout)
        assert test[0] == "CMD", test
        hc = engine(name, "exec", container, *test[1:])
        assert hc.returncode == 0, hc.stdout + hc.stderr
        if name == "podman":
            hc = engine(name, "healthcheck", "run", container)
            assert hc.returncode == 0, hc.stdout + hc.stderr

        r = httpx.post(f"{url}/v1/frontier",
                       json={"model": "testbed-llama", "context_tokens": 1024}, timeout=30)
        assert r.status_code == 200, r.text
        frontier = r.json()
        assert frontier["model"] == "testbed-llama"
        assert frontier["context_tokens"] == 1024
        assert frontier["baseline"]["memory"]["peak_bytes"] > 0
        assert frontier["frontier"]

        # runs as the Dockerfile's non-root user, without torch
        who = engine(name, "exec", container, "python", "-c",
                     "import os, importlib.util as u; "
                     "print(os.getuid(), u.find_spec('torch') is None)")
        assert who.stdout.split() == ["10001", "True"], who.stdout + who.stderr
    finally:
        engine(name, "rm", "--force", container, timeout=60)
    assert container not in engine(name, "ps", "--all", "--format", "{{.Names}}").stdout

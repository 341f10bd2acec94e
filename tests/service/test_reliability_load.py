"""Issue 18, liveness and bounded resources: heavy routes compute off the event loop, so
`/healthz` stays prompt under concurrent capacity requests; beyond the gate a 503 with
Retry-After; metric labels stay bounded whatever methods and paths clients invent."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx
from fastapi.testclient import TestClient

from service.main import create_app
from service.testing.live import serve
from service.testing.synthetic import CALIBRATED


def test_healthz_prompt_under_concurrent_capacity_requests(settings):
    with serve(settings) as url:
        done = threading.Event()
        statuses: list[int] = []

        def hammer(i: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as c:
                while not done.is_set():
                    body = {"model": CALIBRATED, "budget_gib": 16 + 0.37 * i + time.time() % 1,
                            "max_drop": 0.05}
                    statuses.append(c.post("/v1/capacity", json=body).status_code)

        threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        worst = 0.0
        with httpx.Client(base_url=url, timeout=30) as c:
            for _ in range(15):
                start = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                worst = max(worst, time.perf_counter() - start)
                time.sleep(0.1)
        done.set()
        for t in threads:
            t.join(60)
    assert statuses, set(statuses)
    assert set(statuses) <= {200, 503}, set(statuses)
    assert worst < 0.5, f"/healthz took {worst:.2f} s under load"


def test_beyond_the_gate_is_503_with_retry_after(settings):
    app = create_app(settings.model_copy(update={"max_heavy": 1, "max_queued": 0}))

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            bodies = [{"model": CALIBRATED, "budget_gib": 10 + i, "max_drop": 0.05}
                      for i in range(6)]
            return await asyncio.gather(*(c.post("/v1/capacity", json=b) for b in bodies))

    with TestClient(app):  # runs the lifespan (loads the registry)
        pass
    rs = asyncio.run(run())
    codes = sorted(r.status_code for r in rs)
    assert 200 in codes, codes
    assert 503 in codes, codes
    busy = next(r for r in rs if r.status_code == 503)
    assert busy.headers["retry-after"].isdigit()
    assert "busy" in busy.json()["detail"]


def test_invented_methods_and_paths_collapse_to_one_label(client):
    for i in range(60):
        client.request(f"BREW{i}", f"/nowhere/{i}")
        client.get(f"/random/{i}")
    text = client.get("/metrics").text
    series = [ln for ln in text.splitlines() if ln.startswith("kvpareto_requests_total{")]
    methods = set(re.findall(r'method="([^"]+)"', "\n".join(series)))
    routes = set(re.findall(r'route="([^"]+)"', "\n".join(series)))
    assert methods <= {"GET", "POST", "other"}, methods
    assert routes <= {"unmatched", "/metrics"}, routes
    assert len(series) <= 6, series

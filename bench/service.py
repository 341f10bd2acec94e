"""Service benchmark: frontier latency in process, and throughput over HTTP against uvicorn.

`python -m bench.service [--seconds 10] [--clients 64]`; a synthetic artifact
(service.testing.synthetic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from service.registry import load_registry
from service.respond import frontier
from service.schemas.requests import FrontierRequest
from service.settings import Settings
from service.testing.live import free_port, send, wait_healthy
from service.testing.synthetic import CALIBRATED, UNCALIBRATED, write_synthetic


async def in_process(folder: Path, n: int = 300) -> None:
    """The /v1/frontier computation (no answer cache) called directly, plus its JSON."""
    registry = load_registry(folder, strict=True)
    settings = Settings(artifact_dir=folder)
    for model in (CALIBRATED, UNCALIBRATED):
        grid = len(registry.models[model].grid)
        cold = ("cold: new context each call", range(4096, 4096 + 7 * n, 7))
        for label, contexts in (cold, ("warm: same query", [32768] * n)):
            times = []
            for ctx in contexts:
                body = FrontierRequest(model=model, context_tokens=ctx, budget_gib=12)
                t0 = time.perf_counter()
                res = frontier(registry.models[model], body, settings)
                res.model_dump_json()
                times.append(time.perf_counter() - t0)
            ms = np.asarray(times[5:]) * 1e3
            print(f"in-process frontier {model} ({grid} configs, {label}): "
                  f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, "
                  f"{len(res.frontier)} points listed")


async def _client(host: str, port: int, bodies: list[bytes], start: int, step: int,
                  stop: float, lat: list[float], errors: list[str]) -> None:
    """One keep-alive HTTP/1.1 connection; client k sends bodies k, k+step, k+2·step, …"""
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    while time.perf_counter() < stop:
        body = bodies[i % len(bodies)]
        i += step
        t0 = time.perf_counter()
        status = await send(reader, writer, "POST", "/v1/frontier", body)
        lat.append(time.perf_counter() - t0)
        if status != 200:
            errors.append(str(status))
    writer.close()


async def load(port: int, bodies: list[bytes], clients: int, seconds: float) -> None:
    lat: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(_client("127.0.0.1", port, bodies, k, clients, stop, lat, errors)
          for k in range(clients)),
        return_exceptions=True)
    wall = time.perf_counter() - t0
    errors += [repr(r) for r in results if isinstance(r, BaseException)]
    ms = np.asarray(lat) * 1e3
    print(f"  {len(lat)} requests in {wall:.1f} s = {len(lat) / wall:.0f} req/s, "
          f"{len(errors)} errors, latency p50 {np.percentile(ms, 50):.1f} ms "
          f"p99 {np.percentile(ms, 99):.1f} ms")


def over_http(folder: Path, clients: int, seconds: float, workers: int) -> None:
    port = free_port()
    env = {**os.environ, "KVPARETO_ARTIFACT_DIR": str(folder), "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "service.main:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 30.0, lambda: proc.poll() is None)
        mixes = {
            "repeated queries (24 distinct, cached)": [32768 + 128 * i for i in range(24)],
            "fresh contexts (nothing cached: ledger + prediction + frontier each time)":
                list(range(2000, 200000, 3)),
        }
        for label, contexts in mixes.items():
            bodies = [json.dumps({"model": CALIBRATED, "context_tokens": c, "budget_gib": 12}
                                 ).encode() for c in contexts]
            asyncio.run(load(port, bodies[:4], 4, 1.0))  # warm-up
            print(f"HTTP, {clients} clients, {seconds:g} s, {workers} worker(s), {label}:")
            asyncio.run(load(port, bodies, clients, seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp), CALIBRATED)
        asyncio.run(in_process(Path(tmp)))
        over_http(Path(tmp), args.clients, args.seconds, args.workers)


if __name__ == "__main__":
    main()

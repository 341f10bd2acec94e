"""Load benchmark: a real uvicorn with the `make run` settings, a mixed load, /healthz probed.

`python -m bench.load [--clients 64] [--seconds 30]`. Loopback only, bounded in time.
Phases: (1) the mixed load (frontier at random contexts 256–131,072 over the shipped models,
recommend, capacity with and without `max_drop`, memory) with /healthz probed every 50 ms;
(2) 16 concurrent capacity requests, /healthz probed; (3) capacity alone, one at a time.
Prints requests/s, errors (any status other than 200; 503 shed counted apart), latency
percentiles, /healthz percentiles and the server's RSS before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.testing.live import free_port, send, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
CALIBRATED = ("testbed-llama", "testbed-qwen2", "testbed-mistral")
SPECS = ("Llama-3.1-8B-Instruct", "Qwen2.5-7B-Instruct", "Mistral-7B-Instruct-v0.3")
Request = tuple[str, str, bytes]  # method, path, body


@dataclass
class Tally:
    latency_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def line(self, label: str, wall_s: float) -> str:
        ms = np.asarray(self.latency_s or [0.0]) * 1e3
        bad = sum(n for s, n in self.statuses.items() if s not in (200, 503))
        shed = self.statuses.get(503, 0)
        return (f"{label}: {len(self.latency_s)} requests in {wall_s:.1f} s = "
                f"{len(self.latency_s) / wall_s:.0f} req/s, {bad + len(self.failures)} errors, "
                f"{shed} shed (503), p50 {np.percentile(ms, 50):.1f} ms, "
                f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms")


def mixed_requests(seed: int, count: int) -> list[Request]:
    rng = np.random.default_rng(seed)
    out: list[Request] = []
    for _ in range(count):
        model = str(rng.choice(CALIBRATED + SPECS))
        ctx = int(np.exp(rng.uniform(np.log(256), np.log(131072))))
        kind = int(rng.integers(5))
        if kind == 0:
            path, body = "/v1/frontier", {"model": model, "context_tokens": ctx, "budget_gib": 12}
        elif kind == 1:
            path, body = "/v1/recommend", {"model": model, "context_tokens": ctx,
                                           "budget_gib": float(rng.uniform(0.002, 16))}
        elif kind == 2:
            path, body = "/v1/capacity", {"model": model, "budget_gib": float(rng.uniform(1, 16))}
        elif kind == 3:
            path, body = "/v1/capacity", {"model": str(rng.choice(CALIBRATED)),
                                          "budget_gib": 0.01, "max_drop": 0.05}
        else:
            path, body = "/v1/memory", {"model": model, "context_tokens": ctx,
                                        "config": "w4-k4v2-token-ks-r0-c256"}
        out.append(("POST", path, json.dumps(body).encode()))
    return out


async def _client(port: int, reqs: list[Request], stop: float, tally: Tally) -> None:
    """One keep-alive connection sending `reqs` in turn until `stop` (or once, if stop is 0)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while (time.perf_counter() < stop) if stop else i < len(reqs):
            t0 = time.perf_counter()
            status = await send(reader, writer, *reqs[i % len(reqs)])
            tally.latency_s.append(time.perf_counter() - t0)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            i += 1
    finally:
        writer.close()


async def _probe(port: int, until: asyncio.Event, tally: Tally) -> None:
    """/healthz every 50 ms on its own connection while the load runs."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not until.is_set():
            t0 = time.perf_counter()
            status = await send(reader, writer, "GET", "/healthz")
            tally.latency_s.append(time.perf_counter() - t0)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            await asyncio.sleep(0.05)
    finally:
        writer.close()


async def phase(port: int, per_client: list[list[Request]], seconds: float,
                label: str) -> None:
    load, health, done = Tally(), Tally(), asyncio.Event()
    probe = asyncio.create_task(_probe(port, done, health))
    stop = time.perf_counter() + seconds if seconds else 0.0
    t0 = time.perf_counter()
    results = await asyncio.gather(*(_client(port, reqs, stop, load) for reqs in per_client),
                                   return_exceptions=True)
    wall = time.perf_counter() - t0
    done.set()
    await probe
    load.failures += [repr(r) for r in results if isinstance(r, BaseException)]
    print(load.line(label, wall))
    print(health.line("  /healthz meanwhile", wall))


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's workers are children of its supervisor)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            out += tree(int(child))
    return out


def rss_mib(pid: int) -> float:
    """Resident memory of the server: the process and every worker, summed."""
    total = 0.0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(ln.split()[1]) / 1024 for ln in lines if ln.startswith("VmRSS:"))
    return total


def server_command(port: int) -> list[str]:
    """The `make run` server (the Makefile's uvicorn line), on a free loopback port."""
    make = (ROOT / "Makefile").read_text().splitlines()
    variables = dict(ln.split(":=", 1) for ln in make if ln.startswith("UVICORN_"))
    line = next(ln for ln in make if "uvicorn --factory" in ln and "8000" in ln)
    for name, value in variables.items():
        line = line.replace(f"$({name.strip()})", value.strip())
    args = line.split("uvicorn", 1)[1].split()
    args[args.index("--port") + 1] = str(port)
    return [sys.executable, "-m", "uvicorn", *args, "--log-level", "warning", "--no-access-log"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    port = free_port()
    cmd = server_command(port)
    print("server:", " ".join(cmd[2:]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 60.0, lambda: proc.poll() is None)
        print(f"RSS after start-up: {rss_mib(proc.pid):.0f} MiB")
        reqs = mixed_requests(args.seed, 4096)
        asyncio.run(phase(port, [reqs[:8]], 0, "warm-up"))
        per_client = [reqs[k::args.clients] for k in range(args.clients)]
        asyncio.run(phase(port, per_client, args.seconds,
                          f"mixed, {args.clients} clients, {args.seconds:g} s"))
        cap = [("POST", "/v1/capacity", json.dumps(
            {"model": CALIBRATED[k % 3], "budget_gib": 0.004 + k / 1000,
             "max_drop": 0.02}).encode()) for k in range(16)]
        asyncio.run(phase(port, [[r] for r in cap], 0, "16 concurrent capacity requests"))
        alone = [("POST", "/v1/capacity", json.dumps(
            {"model": SPECS[k % 3], "budget_gib": 4 + k / 7}).encode()) for k in range(40)]
        asyncio.run(phase(port, [alone], 0, "capacity alone, one at a time"))
        print(f"RSS after the load: {rss_mib(proc.pid):.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()

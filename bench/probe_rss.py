"""Resident memory of a process that probes peak memory one configuration after another (what a
memory sweep does): the process's RSS after each probe, and its high-water mark. A trace the
probe fails to free shows as RSS that grows with every probe. `python -m bench.probe_rss --help`.
"""

from __future__ import annotations

import argparse
import resource
import time


def rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e9


def main(argv: list[str] | None = None) -> None:
    import torch

    from calibration.engine.probe import probe_prefill
    from calibration.measurement import _model, probe_ids
    from models.space import parse_config

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--context", type=int, default=2048)
    p.add_argument("--task", default="kv_uuid", help="whose prompt is prefilled")
    p.add_argument("--configs", default="w16-k2v16-tensor-r128-c64,w16-k16v4-token-r0-c64,"
                   "w16-k4v16-block32-r0-c64,w16-k8v4-block32-ks-r0-c64")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    model = _model(a.model, "cpu", "sdpa")
    ids = probe_ids(a.model, a.task, a.context, 0)
    print(f"loaded: RSS {rss_gb():.2f} GB", flush=True)
    for cid in a.configs.split(","):
        c = parse_config(cid)
        t = time.perf_counter()
        peak, _ = probe_prefill(model, ids, c.kv, c.chunk)
        high = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
        print(f"{cid} at {a.context}: peak {peak.peak_bytes:,} B in "
              f"{time.perf_counter() - t:.1f} s; RSS now {rss_gb():.2f} GB, high-water "
              f"{high:.2f} GB", flush=True)


if __name__ == "__main__":
    main()

"""Time the vectorised memory ledger over the whole configuration grid at one context.

    python -m bench.ledger [--model NAME] [--context N] [--repeats N]

Prints the grid size and the median / best wall time of one evaluation (goal: ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the goal states

import numpy as np  # noqa: E402

from models.memory import (  # noqa: E402
    GridLedger,  # noqa: E402
    compatible,
    grid_arrays,
)
from models.space import full_grid  # noqa: E402
from models.specs import load_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="Llama-3.1-8B-Instruct")
    ap.add_argument("--context", type=int, default=131072)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    spec = load_spec(args.model)
    configs = compatible(spec, full_grid())
    t0 = time.perf_counter()
    led = GridLedger(spec, grid_arrays(configs))
    build_ms = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        peak = led.at(args.context).peak
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"model {spec.name}, context {args.context:,} tokens, {len(configs):,} configurations")
    print(f"grid arrays and ledger built once: {build_ms:.1f} ms")
    print(f"ledger over the grid: median {np.median(times):.2f} ms, best {min(times):.2f} ms "
          f"({args.repeats} repeats; goal <= 50 ms)")
    print(f"peak range: {peak.min() / 2**30:.2f} .. {peak.max() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()

"""Exact match of the shipped testbed models (bf16) on every registered task and several lengths.

`python -m bench.testbed_accuracy [--n 100] [--lengths 512 1024 2048]`; prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from calibration.tasks import TESTBED_TASKS
from calibration.testbed.evaluate import accuracy, load

ROOT = Path(__file__).resolve().parents[1] / "models" / "testbed"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--models", nargs="*", default=["testbed-llama", "testbed-qwen2", "testbed-mistral"]
    )
    p.add_argument("--tasks", nargs="*", default=sorted(TESTBED_TASKS))
    p.add_argument("--lengths", nargs="*", type=int, default=[512, 1024, 2048])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=999)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| model | task | " + " | ".join(str(L) for L in args.lengths) + " |")
    print("|---|---|" + "---|" * len(args.lengths))
    for name in args.models:
        if not (ROOT / name / "model.safetensors").is_file():
            print(f"| {name} | (not trained) |")
            continue
        model, tok = load(ROOT / name, torch.bfloat16)
        for task in args.tasks:
            t0 = time.time()
            accs = [accuracy(model, tok, task, L, args.n, args.seed) for L in args.lengths]
            cells = " | ".join(f"{a:.2f}" for a in accs)
            print(f"| {name} | {task} | {cells} |  ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()

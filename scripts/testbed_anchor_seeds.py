"""Measure the testbed's 16-bit baseline again on further prompt seeds at every calibrated and
anchor length, into its store (then `kvpareto fit`): the anchors' spread between prompt sets.

    python -m scripts.testbed_anchor_seeds [--db runs/testbed.db] [--seeds 1,2,3] [model ...]

The calibration's own prompts are seed 0; `calibrate --anchor-seeds` does the same in a new
calibration. The calibration's settings are `scripts/calibrate_testbed.sh`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calibration.campaign import Campaign
from calibration.executors import LocalExecutor
from calibration.store import Store
from scripts.testbed_weights_kl import ANCHORS, CONTEXTS, MODELS, SEED, TASKS, N

ROOT = Path(__file__).resolve().parents[1]
ANCHOR_SEEDS = (1, 2, 3)  # scripts/calibrate_testbed.sh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--db", default=str(ROOT / "runs" / "testbed.db"))
    ap.add_argument("--seeds", default=",".join(map(str, ANCHOR_SEEDS)))
    args = ap.parse_args()
    store = Store(args.db)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    for name in args.models:
        camp = Campaign(store, LocalExecutor(), ROOT / "models" / "testbed" / name, CONTEXTS,
                        TASKS, N, SEED, anchor_contexts=ANCHORS, anchor_seeds=seeds)
        camp.anchor_spread()
        print(f"{name}: 16-bit baseline on seeds {seeds} stored", flush=True)


if __name__ == "__main__":
    main()

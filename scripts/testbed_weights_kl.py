"""Measure the testbed's 4-bit weights' own KL for every AWQ group size it admits, with the
spread over the prompts, on the calibration's prompts, into its store (then `kvpareto fit`).

    python -m scripts.testbed_weights_kl [--db runs/testbed.db] [--respread] [model ...]

The calibration ran group 128 only; the service serves groups 64 and 32 as well. `--respread`
measures again the stored rows that lack their spread (kept before it was stored). The
calibration's settings are `scripts/calibrate_testbed.sh`'s; run on the kernel path its runs
were measured on (`ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16` on a CPU with AMX).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calibration.campaign import Campaign
from calibration.executors import LocalExecutor
from calibration.store import Store

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("testbed-llama", "testbed-qwen2", "testbed-mistral")
# scripts/calibrate_testbed.sh
CONTEXTS, ANCHORS, TASKS, N, SEED = (256, 512), (1024, 2048), ("kv_retrieval", "passkey"), 64, 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--db", default=str(ROOT / "runs" / "testbed.db"))
    ap.add_argument("--respread", action="store_true",
                    help="measure again the stored rows without their spread")
    args = ap.parse_args()
    store = Store(args.db)
    for name in args.models:
        camp = Campaign(store, LocalExecutor(), ROOT / "models" / "testbed" / name, CONTEXTS,
                        TASKS, N, SEED, anchor_contexts=ANCHORS)
        if args.respread:
            spread = store.weights_kl_sd(name)
            for key in set(store.weights_kl(name)) - set(spread):
                store.delete_weights_kl(name, "cpu", key)
        for w, task, L, kl in camp.weights_kl(camp.awq_ids()):
            print(f"{name} {w} {task} {L}: KL {kl:.4f}", flush=True)


if __name__ == "__main__":
    main()

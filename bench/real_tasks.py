"""16-bit exact match (Wilson 95%) and answer NLL of the prose tasks on a real model folder.

`python -m bench.real_tasks --model models/real/SmolLM2-135M-Instruct --contexts 1024,2048
--n 32 --tasks passkey_prose kv_uuid:n_pairs=4`; a task may carry settings (`name:knob=v,...`).
Runs through `calibration.harness.evaluate_many` with the 16-bit configuration; prints a table.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from calibration.harness import evaluate_many
from calibration.tasks import PROSE_TASKS, parse_task
from models.space import Config

BASELINE = Config()  # w16, 16-bit K/V, no chunking


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--contexts", default="1024,2048")
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tasks", nargs="*", default=sorted(PROSE_TASKS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--show", action="store_true", help="print every prediction and its answer")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lengths = [int(x) for x in args.contexts.split(",")]
    print(f"model {args.model}, 16-bit, n={args.n}, seed {args.seed}, {args.threads} thread(s)")
    print("| task | tokens | exact match | Wilson 95% | answer NLL | seconds |")
    print("|---|---|---|---|---|---|")
    outliers: dict[int, list[tuple[float, ...]]] = {}
    for spec in args.tasks:
        task = parse_task(spec)
        budget = int(getattr(task, "max_new_tokens", 12))
        for length in lengths:
            t0 = time.time()
            r = evaluate_many(args.model, [BASELINE], task, length, args.n, args.seed,
                              max_new_tokens=budget)[0]
            print(f"| {spec} | {length} | {r.accuracy:.3f} ({round(r.accuracy * r.n)}/{r.n}) | "
                  f"[{r.accuracy_low:.2f}, {r.accuracy_high:.2f}] | {r.answer_nll:.3f} | "
                  f"{time.time() - t0:.0f} |", flush=True)
            outliers.setdefault(length, []).append(r.key_outlier_ratio)
            if args.show:
                samples = task.generate(_tokenizer(args.model), length, args.n, args.seed)
                for s, pred in zip(samples, r.predictions, strict=True):
                    print(f"    {task.score(pred, s):.0f} want {s.answer!r} got {pred!r}")
    for length, rows in sorted(outliers.items()):
        lo, mid, hi = outlier_summary(rows)
        print(f"key outlier ratio per layer at {length} tokens (min / median / max over "
              f"layers): {lo:.1f} / {mid:.1f} / {hi:.1f}")


def outlier_summary(per_task: list[tuple[float, ...]]) -> tuple[float, float, float]:
    """(min, median, max) over layers of the key outlier ratio (max / median channel mean |k|
    of the 16-bit context keys), each layer averaged over the tasks' prompts."""
    layers = [sum(col) / len(col) for col in zip(*per_task, strict=True)]
    ordered = sorted(layers)
    return ordered[0], ordered[len(ordered) // 2], ordered[-1]


def _tokenizer(model_dir: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)


if __name__ == "__main__":
    main()

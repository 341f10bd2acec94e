"""Chunked prefills one at a time vs as the rows of one batch: wall time and what it changes.

    python -m bench.prefill_rows --model models/real/SmolLM2-135M-Instruct --context 2048 --n 8

Runs `calibration.harness.evaluate_many` twice on the same prompts, with `PREFILL_ROWS` 1 (each
chunked configuration prefills alone, the default) and `--rows` (those of one chunk size share a
batch, so the weights are read once a chunk for all of them), and prints both wall times and,
per configuration, exact match, KL, answer NLL, the mean key error and how many greedy answers
are the same. The batch rounds differently in bf16, so the difference is the price of the speed.
"""

from __future__ import annotations

import argparse
import importlib
import time

from models.space import parse_config

CONFIGS = (  # chunked only: 4 at 64 tokens, 3 at 256, 2 at 128, 2 at 1,024
    "w16-k4v2-block64-ks-r0-c256", "w16-k2v2-channel-ks-r32-c256", "w16-k8v8-block32-r128-c256",
    "w16-k4v2-channel-ks-r0-c64", "w16-k8v4-token-ks-r32-c64", "w16-k2v4-token-r0-c64",
    "w16-k4v4-block32-ks-r0-c64", "w16-k4v8-token-r128-c128", "w16-k8v2-block32-ks-r32-c128",
    "w16-k4v2-token-ks-r0-c1024", "w16-k2v2-token-ks-r128-c1024")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a 16-bit model folder")
    p.add_argument("--context", type=int, default=2048)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--seed", type=int, default=77)
    p.add_argument("--task", default="kv_uuid")
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--rows", type=int, default=8, help="PREFILL_ROWS of the batched run")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    if a.rows < 2:
        p.error(f"--rows must be at least 2 (the batched run); got {a.rows}")
    import torch

    from calibration.tasks import parse_task

    torch.set_num_threads(a.threads)
    contexts = importlib.import_module("calibration.harness.contexts")
    evaluation = importlib.import_module("calibration.harness.evaluate")
    task = parse_task(a.task)
    configs = [parse_config(c) for c in a.configs.split(",")]
    runs = {}
    for rows in (1, a.rows):
        contexts.PREFILL_ROWS = rows
        t0 = time.perf_counter()
        res = evaluation.evaluate_many(a.model, configs, task, a.context, a.n, a.seed,
                                       max_new_tokens=int(getattr(task, "max_new_tokens", 12)))
        runs[rows] = (time.perf_counter() - t0, {r.config_id: r for r in res})
    (alone_s, alone), (rows_s, batched) = runs[1], runs[a.rows]
    print(f"{a.model}: {a.task} at {a.context} tokens, n={a.n}, {a.threads} thread(s); "
          f"{len(configs)} configurations: alone {alone_s:.1f} s, {a.rows} rows a batch "
          f"{rows_s:.1f} s ({alone_s / rows_s:.2f}×)")
    print("| configuration | EM alone / rows | KL alone / rows | NLL alone / rows | "
          "key error alone / rows | same answers |")
    print("|---|---|---|---|---|---|")
    for c in configs:
        one, row = alone[c.id], batched[c.id]
        same = sum(x == y for x, y in zip(one.predictions, row.predictions, strict=True))
        k1, k2 = (sum(r.k_error) / max(len(r.k_error), 1) for r in (one, row))
        print(f"| {c.id} | {one.accuracy:.3f} / {row.accuracy:.3f} | {one.mean_kl:.4f} / "
              f"{row.mean_kl:.4f} | {one.answer_nll:.4f} / {row.answer_nll:.4f} | {k1:.4f} / "
              f"{k2:.4f} | {same}/{a.n} |")


if __name__ == "__main__":
    main()

"""How fast the accuracy harness is on a model, measured: the 16-bit reference per prompt, each
configuration per prompt, and a whole sweep's wall time against its floor.

    python -m bench.harness --model models/real/Qwen2.5-Coder-0.5B-Instruct --context 2048 --n 32

Two kinds of configuration: one that reuses the reference prefill (unchunked, no key smoothing:
a quantized copy of the 16-bit cache, bit-identical to its own prefill) and one that must prefill
for real (chunked or key-smoothed). The floor is the sum of the parts each timed alone (every
prompt's reference pass, every configuration's cache and answer pass); the sweep is
`calibration.harness.evaluate_many` over the same configurations and prompts, model load
included. Threads: torch's (`--threads`, default 2).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from transformers import AutoTokenizer

from calibration.engine.loading import load_model
from calibration.harness import evaluate_many
from calibration.harness.evaluate import answer_pass, config_cache, reference_pass, sample_ids
from calibration.runtime import fingerprint
from calibration.tasks import TASKS
from models.runtime import runtime_label
from models.space import parse_config

T = TypeVar("T")
CONFIGS = ("w16-k4v2-token-r0-cfull", "w16-k4v2-block64-ks-r0-c256")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model folder (16-bit weights)")
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--task", default="kv_uuid")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    configs = [parse_config(c) for c in a.configs.split(",")]
    task = TASKS[a.task]
    budget = int(getattr(task, "max_new_tokens", 12))
    print(f"{a.model}: {a.task} at {a.context} tokens, n={a.n}, {a.threads} threads, "
          f"{runtime_label(fingerprint('cpu'))}")

    model, load_s = timed(lambda: load_model(a.model))
    tok = AutoTokenizer.from_pretrained(a.model, trust_remote_code=False)
    samples = task.generate(tok, a.context, a.n, a.seed)
    ref_s: list[float] = []
    per: dict[str, list[float]] = {c.id: [] for c in configs}
    for sample in samples:
        ids = sample_ids(tok, sample)
        (ctx, _), s = timed(lambda ids=ids: reference_pass(model, ids, budget, tok.eos_token_id))
        ref_s.append(s)
        for c in configs:
            def one(c: Any = c, ids: Any = ids, ctx: Any = ctx) -> Any:
                cache = config_cache(model, ids, ctx, c, track_error=True)
                return answer_pass(model, copy.deepcopy(cache), ids.question, ids.answer,
                                   budget, tok.eos_token_id)
            per[c.id].append(timed(one)[1])
    floor = sum(ref_s) + sum(sum(v) for v in per.values())
    print(f"model load {load_s:.1f} s; 16-bit reference: {statistics.median(ref_s):.2f} s a "
          f"prompt (median), {sum(ref_s):.1f} s for {a.n}")
    print("| configuration | kind | s a prompt (median) | s for n prompts |")
    print("|---|---|---|---|")
    for c in configs:
        kind = ("reuses the reference prefill" if c.chunk is None and not c.kv.smooth_keys
                else "real prefill")
        print(f"| {c.id} | {kind} | {statistics.median(per[c.id]):.3f} | "
              f"{sum(per[c.id]):.1f} |")
    _, sweep_s = timed(lambda: evaluate_many(a.model, configs, task, a.context, a.n, a.seed,
                                             max_new_tokens=budget))
    print(f"sweep (evaluate_many, {len(configs)} configurations, load included): {sweep_s:.1f} s;"
          f" floor {floor:.1f} s; ratio {sweep_s / floor:.2f}")


if __name__ == "__main__":
    main()

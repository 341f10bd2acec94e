"""How fast the accuracy harness is on a model, measured: the 16-bit reference prefill per
prompt, each configuration's cache, its answer pass alone and as a row of a batch, and a whole
sweep's wall time against its floor.

    python -m bench.harness --model models/real/Qwen2.5-Coder-0.5B-Instruct --context 2048 --n 32

Two kinds of configuration: one that reuses a 16-bit prefill (unchunked: a quantized copy of the
16-bit cache, or with key smoothing of one smoothed 16-bit prefill a prompt, bit-identical to its
own prefill) and one that must prefill for real (chunked). Answer passes (question, greedy
answer, teacher-forced answer) run as the rows of one batch, the 16-bit reference's among them
(`calibration.harness.evaluate.ANSWER_ROWS` configurations a batch). The floor is the sum of the
parts each timed alone (every prompt's reference prefill, every configuration's cache, the
batched answer passes); the sweep is `calibration.harness.evaluate_many` over the same
configurations and prompts, model load included (chunked prefills one at a time unless
`PREFILL_ROWS` is raised: `bench.prefill_rows`). Threads: torch's (`--threads`, default 2).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import torch
from transformers import AutoTokenizer

from calibration.engine.gqa_attention import use_gqa_sdpa
from calibration.engine.loading import load_model
from calibration.harness import evaluate_many
from calibration.harness.evaluate import (
    ANSWER_ROWS,
    answer_passes,
    config_cache,
    reference_cache,
    sample_ids,
)
from calibration.runtime import fingerprint
from calibration.tasks import parse_task
from models.runtime import runtime_label
from models.space import parse_config

T = TypeVar("T")
CONFIGS = (  # a calibration group: ten that reuse the reference prefill, six that prefill
    "w16-k4v2-token-r0-cfull", "w16-k2v2-block32-r0-cfull", "w16-k8v4-channel-r0-cfull",
    "w16-k2v4-tensor-r0-cfull", "w16-k4v4-block64-r0-cfull", "w16-k8v2-token-r0-cfull",
    "w16-k2v8-channel-r32-cfull", "w16-k4v8-block32-r128-cfull", "w16-k8v8-tensor-r0-cfull",
    "w16-k2v4-token-r0-cfull", "w16-k4v2-block64-ks-r0-c256", "w16-k2v2-channel-ks-r32-c512",
    "w16-k4v4-token-ks-r0-cfull", "w16-k8v8-block32-r128-c1024", "w16-k4v2-channel-ks-r0-c64",
    "w16-k8v4-token-ks-r32-c1024")


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
    task = parse_task(a.task)
    budget = int(getattr(task, "max_new_tokens", 12))
    print(f"{a.model}: {a.task} at {a.context} tokens, n={a.n}, {a.threads} threads, "
          f"{runtime_label(fingerprint('cpu'))}")

    model, load_s = timed(lambda: use_gqa_sdpa(load_model(a.model, packed=False)))
    tok = AutoTokenizer.from_pretrained(a.model, trust_remote_code=False)
    samples = task.generate(tok, a.context, a.n, a.seed)
    eos = tok.eos_token_id
    ref_s: list[float] = []
    alone_s: list[float] = []
    batch_s: list[float] = []
    smooth_s: list[float] = []
    cache_s: dict[str, list[float]] = {c.id: [] for c in configs}
    for sample in samples:
        ids = sample_ids(tok, sample)
        ctx, s = timed(lambda ids=ids: reference_cache(model, ids))
        ref_s.append(s)
        smoothed = None
        if any(c.chunk is None and c.kv.smooth_keys for c in configs):
            smoothed, s = timed(lambda ids=ids: reference_cache(model, ids, smooth_keys=True))
            smooth_s.append(s)
        caches = []
        for c in configs:
            cache, s = timed(lambda c=c, ids=ids, ctx=ctx, sm=smoothed: config_cache(
                model, ids, ctx, c, True, sm))
            cache_s[c.id].append(s)
            caches.append(cache)
        alone_s.append(timed(lambda ids=ids, caches=caches: answer_passes(
            model, [copy.deepcopy(caches[0])], ids.question, ids.answer, budget, eos))[1])
        # as evaluate_many: the reference leads the first batch, ANSWER_ROWS configurations each
        parts = [[ctx, *caches[:ANSWER_ROWS]]] + [
            caches[i : i + ANSWER_ROWS] for i in range(ANSWER_ROWS, len(caches), ANSWER_ROWS)]
        spent = 0.0
        for part in parts:
            spent += timed(lambda ids=ids, part=part: answer_passes(
                model, part, ids.question, ids.answer, budget, eos))[1]
        batch_s.append(spent)
    floor = sum(ref_s) + sum(smooth_s) + sum(batch_s) + sum(sum(v) for v in cache_s.values())
    per_row = statistics.median(batch_s) / (len(configs) + 1)
    print(f"model load {load_s:.1f} s; 16-bit reference prefill {statistics.median(ref_s):.2f} s "
          f"a prompt (median); answer pass alone {statistics.median(alone_s):.2f} s, as one of "
          f"{len(configs) + 1} rows {per_row:.2f} s (batches of up to {ANSWER_ROWS} "
          "configurations, the first with the reference)")
    if smooth_s:
        print(f"smoothed 16-bit prefill {statistics.median(smooth_s):.2f} s a prompt, shared by "
              "the unchunked configurations with key smoothing")
    print(f"| configuration | kind | cache s a prompt | + answer row = s a prompt | "
          f"s for n = {a.n} |")
    print("|---|---|---|---|---|")
    for c in configs:
        kind = ("real prefill" if c.chunk is not None else "reuses the smoothed prefill"
                if c.kv.smooth_keys else "reuses the reference prefill")
        cached = statistics.median(cache_s[c.id])
        print(f"| {c.id} | {kind} | {cached:.3f} | {cached + per_row:.3f} | "
              f"{a.n * (cached + per_row):.1f} |")
    _, sweep_s = timed(lambda: evaluate_many(a.model, configs, task, a.context, a.n, a.seed,
                                             max_new_tokens=budget))
    print(f"sweep (evaluate_many, {len(configs)} configurations, load included): {sweep_s:.1f} s;"
          f" floor {floor:.1f} s; ratio {sweep_s / floor:.2f}")


if __name__ == "__main__":
    main()

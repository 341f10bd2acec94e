"""How each configuration's KL grows with the context, and what the 16-bit model does there.

The accuracy model extrapolates a configuration's damage beyond the calibrated lengths from how
it grew between them; this shows whether a model grows smoothly (it should, inside its training
lengths) or changes at some length. 16-bit-weight, unchunked-or-chunked configurations only (no
AWQ folder needed): `python -m bench.context_growth --model models/testbed/testbed-llama`.
"""

from __future__ import annotations

import argparse
import statistics

CONFIGS = ("w16-k16v16-cfull", "w16-k8v8-block32-r0-cfull", "w16-k4v4-token-r0-cfull",
           "w16-k4v4-token-r0-c128", "w16-k4v16-channel-ks-r0-cfull", "w16-k16v4-tensor-r0-cfull",
           "w16-k4v2-block64-r0-cfull", "w16-k2v4-channel-r0-cfull", "w16-k2v16-tensor-r0-cfull")


def main(argv: list[str] | None = None) -> None:
    import torch

    from calibration.harness import evaluate_many
    from calibration.measurement import MAX_NEW_TOKENS
    from models.space import BASELINE, parse_config

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="models/testbed/testbed-llama")
    p.add_argument("--tasks", default="passkey,kv_retrieval")
    p.add_argument("--contexts", default="256,512,1024")
    p.add_argument("--n", type=int, default=32, help="prompts per (task, context)")
    p.add_argument("--configs", default=",".join(CONFIGS))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    configs = [parse_config(c) for c in a.configs.split(",")]
    if BASELINE not in configs:
        configs.insert(0, BASELINE)
    if any(c.weights.bits != 16 for c in configs):
        raise SystemExit("--configs: 16-bit weights only (w16-…)")
    lengths = [int(x) for x in a.contexts.split(",")]
    for task in a.tasks.split(","):
        res = {(r.config_id, L): r for L in lengths
               for r in evaluate_many(a.model, configs, task, L, a.n, 0, MAX_NEW_TOKENS)}
        base = [res[(BASELINE.id, L)] for L in lengths]
        print(f"{task}, {a.n} prompts, at {lengths} tokens: 16-bit exact match "
              f"{[round(r.accuracy, 3) for r in base]}, answer NLL "
              f"{[round(r.answer_nll, 4) for r in base]}")
        steps: list[list[float]] = [[] for _ in lengths[1:]]
        for c in configs:
            if c == BASELINE:
                continue
            kl = [res[(c.id, L)].mean_kl for L in lengths]
            growth = [b / a if a > 0 else float("nan") for a, b in zip(kl, kl[1:], strict=False)]
            for s, g in zip(steps, growth, strict=True):
                s.append(g)
            print(f"  {c.id:32s} KL " + " ".join(f"{v:.4f}" for v in kl) + "   growth "
                  + " ".join(f"x{g:.2f}" for g in growth))
        print("  median growth per step: " + ", ".join(
            f"{lo}->{hi} x{statistics.median(s):.2f}"
            for lo, hi, s in zip(lengths[:-1], lengths[1:], steps, strict=True)), flush=True)


if __name__ == "__main__":
    main()

"""Does the KL of a 4-bit-weights configuration split into the weights' own and the cache's own?

The harness measures a configuration's KL against its own weights with a 16-bit cache; the
accuracy model adds the weights' own KL (vs the 16-bit weights, measured once per length and
task) to predict the KL vs the 16-bit model. This measures all three on the same prompts:
`python -m bench.awq_kl --model models/testbed/testbed-llama`.
"""

from __future__ import annotations

import argparse

import numpy as np

CONFIGS = ("w4-k16v16-cfull", "w4-k8v8-block32-ks-r0-cfull", "w4-k4v4-token-r0-cfull",
           "w4-k4v16-channel-ks-r0-cfull", "w4-k2v4-block64-r0-cfull", "w4-k2v16-tensor-r0-cfull")


def main(argv: list[str] | None = None) -> None:
    import torch
    from transformers import AutoTokenizer

    from calibration.engine.loading import load_model
    from calibration.harness.evaluate import answer_pass, config_cache, reference_pass, sample_ids
    from calibration.measurement import MAX_NEW_TOKENS, weights_folder
    from calibration.tasks import TASKS
    from models.space import parse_config

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="models/testbed/testbed-llama")
    p.add_argument("--runs", default="passkey:512,kv_retrieval:512,passkey:1024",
                   help="task:context pairs")
    p.add_argument("--n", type=int, default=32, help="prompts per pair")
    p.add_argument("--configs", default=",".join(CONFIGS), help="4-bit configurations, cfull")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    configs = [parse_config(c) for c in a.configs.split(",")]
    if any(c.weights.bits != 4 or c.chunk is not None for c in configs):
        raise SystemExit("--configs: 4-bit weights, unchunked (…-cfull) configurations only")
    w16 = load_model(a.model, "cpu")
    w4 = load_model(str(weights_folder(a.model, configs[0])), "cpu", packed=False)
    tok = AutoTokenizer.from_pretrained(a.model)
    gaps = []
    for pair in a.runs.split(","):
        task, length = pair.split(":")
        own: dict[str, list[float]] = {c.id: [] for c in configs}
        total: dict[str, list[float]] = {c.id: [] for c in configs}
        alone: list[float] = []
        for s in TASKS[task].generate(tok, int(length), a.n, 0):
            ids = sample_ids(tok, s)
            ref16 = reference_pass(w16, ids, MAX_NEW_TOKENS, tok.eos_token_id)[2]
            cache4, _, ref4 = reference_pass(w4, ids, MAX_NEW_TOKENS, tok.eos_token_id)
            alone.append(float(reference_pass(w4, ids, MAX_NEW_TOKENS, tok.eos_token_id,
                                              against=ref16)[1].kl.mean()))
            for c in configs:
                for ref, kls in ((ref4, own), (ref16, total)):  # each pass consumes its cache
                    out = answer_pass(w4, config_cache(w4, ids, cache4, c), ids.question,
                                      ids.answer, MAX_NEW_TOKENS, tok.eos_token_id, ref)[0]
                    kls[c.id].append(float(out.kl.mean()))
        awq = float(np.mean(alone))
        print(f"{task} at {length} tokens, {a.n} prompts: the 4-bit weights alone, KL {awq:.4f}")
        for c in configs:
            o, t = float(np.mean(own[c.id])), float(np.mean(total[c.id]))
            gap = (o + awq) / t - 1 if t > 0 else 0.0
            gaps.append(abs(gap))
            print(f"  {c.id:32s} vs own weights {o:.4f}  vs 16-bit {t:.4f}  sum {o + awq:.4f}"
                  f"  ({100 * gap:+.1f}%)", flush=True)
    print(f"sum vs measured, |relative gap|: median {100 * np.median(gaps):.1f}%, max "
          f"{100 * np.max(gaps):.1f}% over {len(gaps)} (configuration, task, length)")


if __name__ == "__main__":
    main()

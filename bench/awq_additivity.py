"""Do 4-bit AWQ weights and KV-cache quantization add their damage, or compound it? One model.

    python -m bench.awq_additivity --model models/real/SmolLM2-135M-Instruct --weights w4g64 \
        --context 2048 --n 32 --task kv_uuid --out docs/awq_additivity_smollm2.md

The study asks of AWQ "alone and with each KV scheme". Every arm runs on the same n prompts (a
seed no calibration used): the 16-bit model and its AWQ folder (calibration.awq_cache, with the
same tokenizer and chat template, checked), each with a 16-bit cache and with each KV scheme. Per
prompt, a scheme's loss under 4-bit weights minus its loss under 16-bit weights is the
interaction: zero when the damages add, positive when they compound (the scheme hurts more on
4-bit weights). It is reported in exact-match points and in answer NLL (nats), each with a 95 %
paired-bootstrap interval over prompts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.study_claims import paired_interval
from models.space import parse_config

if TYPE_CHECKING:
    from calibration.harness import EvalResult

SCHEMES = ("k8v8-token-r0", "k4v4-token-ks-r0", "k4v4-channel-ks-r0", "k4v2-block32-ks-r0")


def config_id(weights: str, scheme: str | None, chunk: str) -> str:
    """The canonical id (as EvalResult names it); ValueError for a scheme that does not parse."""
    return parse_config(f"{weights}-{scheme or 'k16v16'}-c{chunk}").id


def verdict(em: tuple[float, float, float], nll: tuple[float, float, float]) -> str:
    """From the interactions (extra loss under 4-bit weights; > 0: the damages compound)."""
    if em[1] > 0:
        return "compound (exact match)"
    if em[2] < 0:
        return "less than the sum (exact match)"
    if nll[1] > 0:
        return "compound on NLL only (exact match cannot tell)"
    if nll[2] < 0:
        return "less than the sum on NLL only (exact match cannot tell)"
    return f"add (within ±{max(abs(em[1]), abs(em[2])):.0f} points)"


def _arrays(r: EvalResult) -> tuple[np.ndarray, np.ndarray]:
    return 100 * np.asarray(r.em_each, dtype=float), np.asarray(r.nll_each, dtype=float)


def render(args: argparse.Namespace, res: dict[str, EvalResult], wall: float) -> str:
    rng = np.random.default_rng(args.seed)
    w, c = args.weights, args.chunk
    em16, nll16 = _arrays(res[config_id("w16", None, c)])
    em4, nll4 = _arrays(res[config_id(w, None, c)])
    alone_em = paired_interval(em16, em4, "diff", rng)  # > 0: AWQ costs points
    alone_nll = paired_interval(nll4, nll16, "diff", rng)
    base16, base4 = res[config_id("w16", None, c)], res[config_id(w, None, c)]
    lines = [
        f"# AWQ {w} and the KV cache on {Path(args.model).name}: do the damages add?", "",
        f"`python -m bench.awq_additivity --model {args.model} --weights {w} --context "
        f"{args.context} --n {args.n} --seed {args.seed} --task {args.task} --chunk {c}` "
        f"({wall / 60:.1f} min, {args.threads} thread(s)).", "",
        f"AWQ {w} alone (16-bit cache): exact match {base16.accuracy:.2f} → {base4.accuracy:.2f}"
        f", a loss of {alone_em[0]:+.0f} [{alone_em[1]:+.0f}, {alone_em[2]:+.0f}] points; answer"
        f" NLL {base16.answer_nll:.3f} → {base4.answer_nll:.3f}, {alone_nll[0]:+.3f} "
        f"[{alone_nll[1]:+.3f}, {alone_nll[2]:+.3f}] nats (95 % paired bootstrap).", "",
        "Loss = the 16-bit cache's exact match minus the scheme's (points), on the same weights; "
        f"interaction = the loss on {w} minus the loss on w16, per prompt (> 0: the KV scheme "
        "hurts more on 4-bit weights, the damages compound); the NLL interaction likewise in "
        "nats of answer NLL.", "",
        f"| KV scheme | EM w16 | EM {w} | loss on w16 | loss on {w} | interaction (points) | "
        "NLL interaction (nats) | verdict |", "|---|---|---|---|---|---|---|---|"]
    for s in args.schemes:
        em16s, nll16s = _arrays(res[config_id("w16", s, c)])
        em4s, nll4s = _arrays(res[config_id(w, s, c)])
        inter = paired_interval(em4 - em4s, em16 - em16s, "diff", rng)
        inter_nll = paired_interval(nll4s - nll4, nll16s - nll16, "diff", rng)
        lines.append(
            f"| {s} | {em16s.mean() / 100:.2f} | {em4s.mean() / 100:.2f} | "
            f"{(em16 - em16s).mean():+.0f} | {(em4 - em4s).mean():+.0f} | "
            f"{inter[0]:+.0f} [{inter[1]:+.0f}, {inter[2]:+.0f}] | "
            f"{inter_nll[0]:+.3f} [{inter_nll[1]:+.3f}, {inter_nll[2]:+.3f}] | "
            f"{verdict(inter, inter_nll)} |")
    lines += ["", f"KL here is against each weight setting's own 16-bit cache (the {w} rows' "
              "KL leaves out the weights' own).", "",
              "| configuration | exact match | answer NLL | KL |", "|---|---|---|---|"]
    for cid, r in res.items():
        lines.append(f"| {cid} | {r.accuracy:.2f} [{r.accuracy_low:.2f}, {r.accuracy_high:.2f}]"
                     f" | {r.answer_nll:.3f} | {max(r.mean_kl, 0.0):.4f} |")
    return "\n".join(lines) + "\n"


def same_prompts(a: Path, b: Path, task: object, context: int, n: int, seed: int) -> bool:
    """Whether folders a and b turn the task's samples into the same token ids."""
    from transformers import AutoTokenizer

    from calibration.harness.evaluate import sample_ids

    def ids(folder: Path) -> list[list[int]]:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        out = []
        for s in task.generate(tok, context, n, seed):  # type: ignore[attr-defined]
            x = sample_ids(tok, s)
            out.append(x.context[0].tolist() + x.question[0].tolist() + x.answer[0].tolist())
        return out

    return ids(a) == ids(b)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a 16-bit model folder")
    p.add_argument("--weights", default="w4g64", help="w4 (group 128), w4g64 or w4g32")
    p.add_argument("--context", type=int, default=2048)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--seed", type=int, default=4321, help="prompt seed (none the fit used)")
    p.add_argument("--task", default="kv_uuid", help="a task spec, e.g. kv_uuid:n_pairs=10")
    p.add_argument("--schemes", default=",".join(SCHEMES),
                   help="KV schemes without weights or chunk, e.g. k4v4-token-ks-r0")
    p.add_argument("--chunk", default="full", help="prefill chunk in tokens, or 'full'")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = p.parse_args(argv)
    args.schemes = [s for s in args.schemes.split(",") if s]
    if args.weights not in ("w4", "w4g64", "w4g32"):
        p.error(f"--weights: {args.weights!r} is not one of w4, w4g64, w4g32")
    model = Path(args.model)
    if not (model / "model.safetensors").is_file():
        p.error(f"--model: {model} holds no model.safetensors")
    try:
        for w in ("w16", args.weights):
            for s in [None, *args.schemes]:
                parse_config(config_id(w, s, args.chunk))
    except ValueError as e:
        p.error(f"--schemes/--chunk: {e}")
    import torch

    from calibration.awq_cache import awq_folder
    from calibration.harness import evaluate_many
    from calibration.tasks import parse_task

    torch.set_num_threads(args.threads)
    try:
        task = parse_task(args.task)
    except ValueError as e:
        p.error(f"--task: {e}")
    t0 = time.time()
    awq = awq_folder(model, args.weights)
    if not same_prompts(model, awq, task, args.context, args.n, args.seed):
        sys.exit(f"error: {awq} tokenizes the prompts otherwise than {model}; remove it to "
                 "remake it")
    res: dict[str, EvalResult] = {}
    for w, folder in (("w16", model), (args.weights, awq)):
        configs = [parse_config(config_id(w, s, args.chunk)) for s in [None, *args.schemes]]
        print(f"[{time.time() - t0:5.0f} s] {w}: {len(configs)} configurations × {args.n} "
              f"prompts at {args.context} tokens ...", file=sys.stderr, flush=True)
        for r in evaluate_many(folder, configs, task, args.context, args.n, args.seed,
                               max_new_tokens=int(getattr(task, "max_new_tokens", 12))):
            res[r.config_id] = r
    text = render(args, res, time.time() - t0)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

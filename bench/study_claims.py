"""The KV Pareto study's claims, re-measured on one model as paired comparisons on the same prompts.

    python -m bench.study_claims --model models/real/SmolLM2-135M-Instruct --context 2048 \
        --n 32 --task kv_uuid --out docs/study_claims_smollm2.md

Each claim names two or more configurations; all run on the same n prompts (a seed no
calibration used), so each comparison is paired: the difference in exact match (points) and the
ratio of mean KL vs the 16-bit cache, each with a 95 % paired-bootstrap interval over prompts.
A verdict says whether the measured difference has the claimed sign (its interval excludes
zero), contradicts it, or cannot tell at this n. The study's main runs used 256-token prefill
chunks, so every arm does unless the claim is about chunks. A "same" claim whose exact match
cannot tell is flagged when its KL ratio excludes 1. AWQ arms are not measured here
(`bench.awq_additivity` does). `--save-json` keeps every per-prompt value; `--from-json`
renders them again without inference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.space import parse_config

if TYPE_CHECKING:
    from calibration.harness import EvalResult

BOOTSTRAP = 10_000


@dataclass(frozen=True)
class Claim:
    """`better` should beat `worse` (the study's claim), or `same` within the stated tolerance."""

    topic: str
    study: str
    better: str
    worse: str
    kind: str = "better"  # "better": better > worse; "same": no difference beyond noise


BASE = "w16-k16v16-cfull"
CLAIMS = (
    Claim("int8 K and V", "close to lossless", BASE, "w16-k8v8-token-r0-c256", "same"),
    Claim("granularity, int4 keys", "per-token beats per-tensor (~10 F1)",
          "w16-k4v4-token-ks-r0-c256", "w16-k4v4-tensor-ks-r0-c256"),
    Claim("granularity, int4 keys", "per-block (group 32) at least as good as per-token",
          "w16-k4v4-block32-ks-r0-c256", "w16-k4v4-token-ks-r0-c256", "same"),
    Claim("granularity, int4 keys", "per-channel keys (KIVI) at least as good as per-token",
          "w16-k4v4-channel-ks-r0-c256", "w16-k4v4-token-ks-r0-c256", "same"),
    Claim("granularity, int2 keys", "per-token keys collapse at int2; per-channel holds up",
          "w16-k2v2-channel-ks-r0-c256", "w16-k2v2-token-ks-r0-c256"),
    Claim("granularity, int2 keys", "per-tensor worst at int2",
          "w16-k2v2-token-ks-r0-c256", "w16-k2v2-tensor-ks-r0-c256"),
    Claim("key smoothing, int4 keys", "essential at int4 (gibberish without)",
          "w16-k4v4-token-ks-r0-c256", "w16-k4v4-token-r0-c256"),
    Claim("key smoothing, int2 keys", "helps at int2",
          "w16-k2v2-token-ks-r0-c256", "w16-k2v2-token-r0-c256"),
    Claim("keys vs values", "keys need more bits: k8v2 beats k2v8",
          "w16-k8v2-token-r0-c256", "w16-k2v8-token-ks-r0-c256"),
    Claim("keys vs values", "keys need more bits: k4v2 beats k2v4 (75.2 vs 54.7 %)",
          "w16-k4v2-token-ks-r0-c256", "w16-k2v4-token-ks-r0-c256"),
    Claim("group size", "group 32 best for small models (64 for 7–8B); 128 ruled out by "
          "head_dim 64", "w16-k4v2-block32-ks-r0-c256", "w16-k4v2-block64-ks-r0-c256"),
    Claim("chunk size", "64–1,024 changes accuracy < 0.5 %: c64 vs one pass",
          "w16-k4v2-token-ks-r0-c64", "w16-k4v2-token-ks-r0-cfull", "same"),
    Claim("chunk size", "64–1,024 changes accuracy < 0.5 %: c1024 vs c256",
          "w16-k4v2-token-ks-r0-c1024", "w16-k4v2-token-ks-r0-c256", "same"),
    Claim("chunk size", "chunking a 16-bit cache changes nothing", "w16-k16v16-c64", BASE,
          "same"),
    Claim("residual window", "128 recent tokens in 16-bit rescue int2 (KIVI)",
          "w16-k2v2-channel-ks-r128-c256", "w16-k2v2-channel-ks-r0-c256"),
    Claim("residual window", "a 128-token window helps k4v2 little",
          "w16-k4v2-token-ks-r128-c256", "w16-k4v2-token-ks-r0-c256", "same"),
)


def configurations() -> list[str]:
    """Every configuration the claims name, the 16-bit baseline first, each once."""
    return list(dict.fromkeys([BASE] + [c for claim in CLAIMS for c in (claim.better,
                                                                          claim.worse)]))


def paired_interval(a: np.ndarray, b: np.ndarray, stat: str, rng: np.random.Generator
                    ) -> tuple[float, float, float]:
    """The statistic of (a, b) paired by prompt and its 95 % bootstrap interval: `diff` is
    mean(a) − mean(b), `ratio` is mean(a) / mean(b)."""

    def value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if stat == "diff":
            return x.mean(axis=-1) - y.mean(axis=-1)
        return x.mean(axis=-1) / np.maximum(y.mean(axis=-1), 1e-12)

    picks = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    spread = value(a[picks], b[picks])
    lo, hi = np.percentile(spread, [2.5, 97.5])
    return float(value(a, b)), float(lo), float(hi)


def verdict(claim: Claim, diff: tuple[float, float, float], ratio: tuple[float, float, float]
            ) -> str:
    """From the exact-match difference (points), with KL as the tie-breaker when exact match
    cannot tell (a lower KL of `better` is the same direction)."""
    _, lo, hi = diff
    _, r_lo, r_hi = ratio
    if claim.kind == "same":
        if lo > 0 or hi < 0:
            return "does not hold (exact match differs)"
        same_em = f"no exact-match difference beyond ±{max(abs(lo), abs(hi)):.0f} points at this n"
        if r_lo > 1 or r_hi < 1:  # the answers hold, the distributions do not
            return f"{same_em}, but KL differs (A / B ×{ratio[0]:.2f})"
        return same_em
    if lo > 0:
        return "holds (exact match)"
    if hi < 0:
        return "reversed (exact match)"
    if r_hi < 1:
        return "holds on KL only (exact match cannot tell)"
    if r_lo > 1:
        return "reversed on KL (exact match cannot tell)"
    return "cannot tell at this n"


def save(path: Path, args: argparse.Namespace, results: dict[str, EvalResult], wall: float
         ) -> None:
    """Every configuration's per-prompt values and the command's settings, as JSON: a verdict
    can be re-rendered (`--from-json`) without running inference again."""
    settings = {k: getattr(args, k) for k in ("model", "context", "n", "seed", "task", "threads")}
    path.write_text(json.dumps({"settings": settings, "wall_seconds": wall,
                                "results": [asdict(r) for r in results.values()]}, indent=1))


def load(path: Path) -> tuple[argparse.Namespace, dict[str, EvalResult], float]:
    """What `save` wrote: the settings, the results by configuration, the wall time."""
    from calibration.harness import EvalResult

    try:
        raw = json.loads(path.read_text())
        results = {r["config_id"]: EvalResult(**{k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in r.items()})
                   for r in raw["results"]}
        return argparse.Namespace(**raw["settings"]), results, float(raw["wall_seconds"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a study_claims JSON (from --save-json): {e}") from e


def render(args: argparse.Namespace, results: dict[str, EvalResult], wall: float) -> str:
    rng = np.random.default_rng(args.seed)
    base = results[BASE]
    lines = [f"# The study's claims on {Path(args.model).name}", "",
             f"`python -m bench.study_claims --model {args.model} --context {args.context} "
             f"--n {args.n} --seed {args.seed} --task {args.task}` ({wall / 60:.1f} min, "
             f"{args.threads} thread(s)). 16-bit exact match {base.accuracy:.2f} "
             f"[{base.accuracy_low:.2f}, {base.accuracy_high:.2f}] (Wilson 95 %), answer NLL "
             f"{base.answer_nll:.3f}.", "",
             "Each row compares configuration A with B on the same prompts: exact match of each, "
             "the difference A − B in points and the ratio of mean KL (vs the 16-bit cache) "
             "A / B, with 95 % paired-bootstrap intervals over prompts (a KL ratio below 1: "
             "A is closer to the 16-bit cache).", "",
             "| topic | the study (or prior work) says | A | B | EM A / B | A − B (points) | "
             "KL A / B | verdict |", "|---|---|---|---|---|---|---|---|"]
    for claim in CLAIMS:
        a, b = results[claim.better], results[claim.worse]
        em_a, em_b = np.array(a.em_each), np.array(b.em_each)
        kl_a = np.maximum(np.array(a.kl_each), 0.0)
        kl_b = np.maximum(np.array(b.kl_each), 0.0)
        diff = paired_interval(100 * em_a, 100 * em_b, "diff", rng)
        ratio = paired_interval(kl_a, kl_b, "ratio", rng)  # < 1: A closer to 16-bit
        kl_text = (f"{ratio[0]:.2f} [{ratio[1]:.2f}, {ratio[2]:.2f}]"
                   if b.mean_kl > 1e-6 else f"— (B's KL {max(b.mean_kl, 0.0):.0e})")
        lines.append(
            f"| {claim.topic} | {claim.study} | {claim.better.removeprefix('w16-')} | "
            f"{claim.worse.removeprefix('w16-')} | {a.accuracy:.2f} / {b.accuracy:.2f} | "
            f"{diff[0]:+.0f} [{diff[1]:+.0f}, {diff[2]:+.0f}] | {kl_text} | "
            f"{verdict(claim, diff, ratio)} |")
    lines += ["", "| configuration | exact match | answer NLL | KL |", "|---|---|---|---|"]
    for cid, r in results.items():
        lines.append(f"| {cid} | {r.accuracy:.2f} [{r.accuracy_low:.2f}, {r.accuracy_high:.2f}]"
                     f" | {r.answer_nll:.3f} | {max(r.mean_kl, 0.0):.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a 16-bit model folder (not with --from-json)")
    p.add_argument("--context", type=int, default=2048)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--seed", type=int, default=4321, help="prompt seed (none the fit used)")
    p.add_argument("--task", default="kv_uuid", help="a task spec, e.g. kv_uuid:n_pairs=10")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    p.add_argument("--save-json", type=Path, help="write every per-prompt value here")
    p.add_argument("--from-json", type=Path,
                   help="render a --save-json file again instead of running inference")
    args = p.parse_args(argv)
    if args.from_json:
        try:
            saved, results, wall = load(args.from_json)
        except ValueError as e:
            p.error(f"--from-json: {e}")
        missing = [c for c in configurations() if c not in results]
        if missing:
            p.error(f"--from-json: {args.from_json} lacks {', '.join(missing)}")
        text = render(saved, results, wall)
        print(text)
        if args.out:
            args.out.write_text(text)
        return
    if not args.model:
        p.error("--model is required (unless --from-json renders a saved run)")
    import torch

    from calibration.harness import evaluate_many
    from calibration.tasks import parse_task

    torch.set_num_threads(args.threads)
    try:
        task = parse_task(args.task)
    except ValueError as e:
        p.error(f"--task: {e}")
    configs = [parse_config(c) for c in configurations()]
    t0 = time.time()
    print(f"{len(configs)} configurations × {args.n} prompts at {args.context} tokens ...",
          file=sys.stderr, flush=True)
    res = evaluate_many(args.model, configs, task, args.context, args.n, args.seed,
                        max_new_tokens=int(getattr(task, "max_new_tokens", 12)))
    results, wall = {r.config_id: r for r in res}, time.time() - t0
    text = render(args, results, wall)
    print(text)
    if args.save_json:
        save(args.save_json, args, results, wall)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

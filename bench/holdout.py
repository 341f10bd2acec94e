"""The held-out check of a shipped artifact, on the machine that runs it: configurations no stored
run used, drawn from the served grid with the bench's own seed, measured on prompts no fit saw at
the longest calibrated length, 2× and 4× (or `--contexts`; memory re-probed here, never read
from stored peaks). `python -m bench.holdout --help`.

Memory: the artifact's prediction and its upper bound against peaks probed on this machine, then
the same after a refit on this machine's runtime (every configuration × context of the
artifact's memory runs re-probed here). Accuracy: coverage overall and for configurations that
really lose answers (≥ 3 prompts below the 16-bit model on the same prompts), MAE over the
trivial predictor's (the measured 16-bit value), KL as served (the 4-bit weights' own KL,
measured on the same prompts, added) per weight setting. Rows past the longest 16-bit anchor are
counted apart: the service gives their accuracy as unknown.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.held_out import LOST_PROMPTS, degraded_coverage, held_out_scores
from calibration.campaign import Campaign
from calibration.executors import make_executor, sweep
from calibration.fitting import METRICS, fit_memory, memory_runs
from calibration.harness.stats import wilson_interval
from calibration.runtime import fingerprint
from calibration.store import Measurement, RunKey, Store
from calibration.validate import predictable
from calibration.weights_kl import WeightsProbe, stored_weights_kl
from models.accuracy import design, metric_fit, predict
from models.artifact import Artifact, MetricFit, artifact_path, load_artifact
from models.memory import GridLedger, MemoryCoefficients, grid_arrays
from models.runtime import runtime_label
from models.space import BASELINE, Config, parse_config

HOLDOUT_SEED = 3_000_017  # the bench's prompts: no calibration, validation or bench run uses them


def say(msg: str) -> None:
    print(msg, flush=True)


def draw(art: Artifact, camp: Campaign, count: int, seed: int, unchunked: bool = False,
         kept: Sequence[str] = ()) -> list[Config]:
    """`count` served configurations (every weight setting in the artifact's scope) that no
    stored run of the model used; chunked prefills only unless `unchunked`. `kept` (ids this
    bench already measured) come first, so runs added to the calibration store later, or a
    wider weight scope, never orphan a stored held-out run; the rest is the seeded draw."""
    seen = {k.config for k, _ in camp.store.runs(camp.name, None, camp.device)}
    grid = [c for c in predictable(camp.spec(), art)
            if c.id not in seen and (unchunked or c.chunk is not None)]
    rng = random.Random(seed)
    by_weights: dict[str, list[Config]] = {}
    for c in grid:
        by_weights.setdefault(c.weights.id, []).append(c)
    fresh: list[Config] = []
    for i in range(min(count, len(grid))):  # round-robin over the weight settings
        group = sorted(by_weights)[i % len(by_weights)]
        options = [c for c in by_weights[group] if c not in fresh]
        if options:
            fresh.append(rng.choice(options))
    order = {c.id: i for i, c in enumerate(fresh)}
    measured = set(kept)
    old = sorted((c for c in grid if c.id in measured),
                 key=lambda c: (order.get(c.id, len(order)), c.id))
    return [*old, *(c for c in fresh if c not in old)][:count]


def measured_configs(store: Store, camp: Campaign, n: int) -> list[str]:
    """Configurations this bench has runs of (its own prompt seed, `n` prompts; 0: memory)."""
    return sorted({k.config for k, _ in store.runs(camp.name, None, camp.device)
                   if k.seed == HOLDOUT_SEED and k.n == n})


def _peaks(store: Store, camp: Campaign, keys: Sequence[RunKey]) -> dict[RunKey, int]:
    """Peaks probed on this machine's runtime; a store holding these keys from another runtime
    is refused (its peaks would be read back, not re-probed)."""
    here = runtime_label(fingerprint(camp.device))
    want = set(keys)
    other = sorted({label for k, m in store.runs(camp.name, None, camp.device)
                    if k in want and (label := runtime_label(m.versions | {"device": k.device}))
                    != here})
    if other:
        raise SystemExit(f"error: {store.url} holds these peaks from {', '.join(other)}; this "
                         f"machine runs {here}: pass --holdout-db with a new file to probe here")
    sweep(store, camp.executor, str(camp.model_dir), keys)
    return {k: int(m.peak_bytes) for k, m in store.runs(camp.name, "ok", camp.device)
            if k in want and m.peak_bytes}


def _memory_line(label: str, coef: MemoryCoefficients, camp: Campaign,
                 measured: dict[RunKey, int]) -> None:
    keys = list(measured)
    configs = [parse_config(k.config) for k in keys]
    led = GridLedger(camp.spec(), grid_arrays(configs), coef).at(
        np.array([k.context_tokens for k in keys], dtype=np.int64))
    meas = np.array([measured[k] for k in keys], dtype=np.float64)
    err = np.abs(led.peak / meas - 1)
    inside = meas <= led.peak_bound
    lo, hi = wilson_interval(int(inside.sum()), len(inside))
    say(f"memory {label}: {len(keys)} peaks, median |err| {100 * np.median(err):.2f}% max "
        f"{100 * err.max():.2f}% (target median ≤ 2%); upper bound ×{coef.bound_factor:.4f} covers "
        f"{100 * inside.mean():.1f}% ({int(inside.sum())}/{len(inside)}; 95% CI {100 * lo:.0f}–"
        f"{100 * hi:.0f}%; target ≥ 95%)")


def memory(art: Artifact, camp: Campaign, store: Store, held: list[Config],
           contexts: Sequence[int]) -> None:
    here = fingerprint(camp.device)
    stored = art.memory.runtime if art.memory else "none (first-principles terms)"
    say(f"runtime here: {runtime_label(here)} ({here.get('cpu', '')}); the artifact's memory "
        f"fit: {stored}")
    task = camp.tasks[0]
    keys = [RunKey(camp.name, c.id, L, task, HOLDOUT_SEED, 0, camp.device)
            for c in held for L in contexts]
    measured = _peaks(store, camp, keys)
    coef = art.memory.to_coefficients() if art.memory else MemoryCoefficients()
    _memory_line("as shipped, held-out", coef, camp, measured)
    # the artifact's own memory runs, re-probed here: same bytes means the same kernel path
    fit_runs, _ = memory_runs(camp.store.runs(camp.name, "ok", camp.device))
    pairs = sorted({(k.config, k.context_tokens) for k, _ in fit_runs})
    again = _peaks(store, camp, [RunKey(camp.name, c, L, task, HOLDOUT_SEED, 0, camp.device)
                                 for c, L in pairs])
    old = {(k.config, k.context_tokens): int(m.peak_bytes or 0) for k, m in fit_runs}
    same = [again[k] == old[(k.config, k.context_tokens)] for k in again]
    diff = [again[k] / old[(k.config, k.context_tokens)] - 1 for k in again]
    say(f"memory: the artifact's {len(again)} fit points re-probed here: {sum(same)} byte-"
        f"identical, median change {100 * np.median(diff):+.2f}%, max {100 * np.max(diff):+.2f}%")
    rows = [(k, m) for k, m in store.runs(camp.name, "ok", camp.device) if k in set(again)]
    fitter = fit_memory(camp.spec(), rows, max(art.memory.contexts) if art.memory else None)
    refit = fitter.to_fit("refit").to_coefficients()  # its bound as `kvpareto fit` makes it
    _memory_line(f"refit on {runtime_label(rows[0][1].versions)}, held-out", refit, camp, measured)


def accuracy(art: Artifact, camp: Campaign, store: Store, held: list[Config],
             contexts: Sequence[int]) -> None:
    fresh = replace(camp, store=store, on_result=None, seed=HOLDOUT_SEED)
    fresh.run([(c, L) for L in contexts for c in [*held, BASELINE]])
    got = {k: m for k, m in store.runs(camp.name, "ok", camp.device) if k.n == camp.n}
    for task in camp.tasks:
        for metric in art.accuracy.get(task, {}):
            for L in contexts:
                _accuracy_line(art, camp, store, got, held, metric_fit(art, task, metric), L)


def _accuracy_line(art: Artifact, camp: Campaign, store: Store, got: dict[RunKey, Measurement],
                   held: list[Config], fit: MetricFit, L: int) -> None:
    task, metric = fit.task, fit.metric

    def key(c: Config) -> RunKey:
        return RunKey(camp.name, c.id, L, task, HOLDOUT_SEED, camp.n, camp.device)

    base = got.get(key(BASELINE))
    rows = [(c, got[key(c)]) for c in held if key(c) in got and getattr(got[key(c)], metric)
            is not None]
    if base is None or not rows:
        return
    p = predict(fit, design([c for c, _ in rows], art.kv_error), L)
    y = np.array([float(getattr(m, metric)) for _, m in rows])
    weights = np.array([c.weights.id for c, _ in rows])
    if metric == "kl" and fit.weights_kl:  # as served: runs' KL plus the weights' own, measured
        for w in sorted(set(weights) - {"w16"}):
            own, _ = stored_weights_kl(store, camp.name, camp.model_dir,
                                       WeightsProbe(w, task, L, HOLDOUT_SEED, camp.n), camp.device)
            y[weights == w] += own
    known = ~p.unanchored_rows
    trivial = np.full(len(y), float(getattr(base, metric)))
    if not known.any():
        say(f"accuracy {task}/{metric} at {L}: past the longest 16-bit anchor "
            f"({p.anchored_until}): {len(y)} rows answered as unknown")
        return
    s = held_out_scores(y[known], p.mean[known], p.lower[known], p.upper[known], trivial[known])
    lo, hi = wilson_interval(s.inside, s.n)
    # the trivial predictor above knows these prompts' own 16-bit value; a user has only the
    # served one (the anchors' median): against that, the ratio measures the predicted damage
    served = float(predict(fit, design([BASELINE], art.kv_error), L).mean[0])
    vs_served = held_out_scores(y[known], p.mean[known], p.lower[known], p.upper[known],
                                np.full(int(known.sum()), served)).ratio
    line = (f"accuracy {task}/{metric} at {L}: {s.n} held-out runs, MAE ratio {s.ratio:.2f} "
            f"(vs the served 16-bit value {vs_served:.2f}), Spearman {s.spearman:.2f}, "
            f"coverage {100 * s.coverage:.1f}% ({s.inside}/{s.n}; "
            f"95% CI {100 * lo:.0f}–{100 * hi:.0f}%)")
    inside = (p.lower <= y) & (y <= p.upper)
    if METRICS[metric] == "accuracy":
        hit, lost = degraded_coverage(y[known], p.lower[known], p.upper[known], trivial[known],
                                      camp.n)
        if lost:
            line += (f"; degraded (≥ {LOST_PROMPTS} prompts lost): {100 * hit / lost:.0f}% "
                     f"({hit}/{lost})")
    else:
        parts = [f"{w} {100 * inside[weights == w].mean():.0f}% ({int((weights == w).sum())})"
                 for w in sorted(set(weights))]
        line += "; by weights: " + ", ".join(parts)
    say(line)


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder, e.g. models/testbed/testbed-llama")
    p.add_argument("--db", default="runs/testbed.db", help="store holding the calibration runs")
    p.add_argument("--holdout-db", default=None, help="the bench's own runs (resumable)")
    p.add_argument("--artifacts", default="models/artifacts", type=Path)
    p.add_argument("--sections", default="memory,accuracy", help="memory,accuracy")
    p.add_argument("--tasks", default="kv_retrieval,passkey")
    p.add_argument("--configs", type=int, default=24, help="held-out configurations")
    p.add_argument("--seed", type=int, default=5, help="draws the held-out configurations")
    p.add_argument("--n", type=int, default=64, help="prompts per run (as calibrated)")
    p.add_argument("--executor", default="local", help="local | ray")
    p.add_argument("--unchunked", action="store_true", help="draw whole-prompt prefills too "
                   "(default: chunked only, as the testbed figures were drawn)")
    p.add_argument("--contexts", default="", help="lengths to measure, e.g. 1024,2048 (default: "
                   "the longest calibrated length, 2× and 4× it)")
    a = p.parse_args(argv)
    model_dir = Path(a.model)
    executor = make_executor(a.executor, None)
    camp = Campaign(Store(a.db), executor, model_dir, [256, 512], a.tasks.split(","), a.n)
    art = load_artifact(artifact_path(a.artifacts, camp.name))
    store = Store(a.holdout_db or f"runs/holdout-{camp.name}.db")
    store.model_id(camp.name, str(model_dir))
    longest = max(art.calibrated_contexts)
    contexts = ([int(x) for x in a.contexts.split(",") if x.strip()] if a.contexts.strip()
                else [longest, 2 * longest, 4 * longest])
    try:
        for section, n in (("memory", 0), ("accuracy", a.n)):
            if section not in a.sections:
                continue
            held = draw(art, camp, a.configs, a.seed, a.unchunked, measured_configs(store, camp, n))
            say(f"{camp.name} {section}: {len(held)} held-out configurations (seed {a.seed}; "
                f"stored ones first), prompts seed {HOLDOUT_SEED}, n = {a.n}, at {contexts} "
                f"(calibrated ≤ {longest})")
            (memory if section == "memory" else accuracy)(art, camp, store, held, contexts)
    finally:
        executor.close()


if __name__ == "__main__":
    main()

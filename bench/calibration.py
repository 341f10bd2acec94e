"""Acceptance figures of the calibration job on one model: memory extrapolation, held-out accuracy,
sample efficiency of active vs exhaustive sampling. `python -m bench.calibration --help`.

Reads calibration runs from --db; its own runs go to --bench-db, so they never enter a fit.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bench.held_out import LOST_PROMPTS, degraded_coverage, held_out_scores, least_interval_mass
from calibration.campaign import Campaign
from calibration.cli.inputs import pool_of
from calibration.executors import make_executor, sweep
from calibration.fitting import METRICS, fit_accuracy, fit_memory
from calibration.harness.stats import wilson_interval
from calibration.sampler import pool
from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import design, predict
from models.frontier import hypervolume
from models.space import BASELINE, STUDY_KV_PAIRS, Config, parse_config

FRESH_SEED = 2_000_003  # the bench's prompts for the "other prompts" check (no fit reads them)


def say(msg: str) -> None:
    print(msg, flush=True)


def memory(camp: Campaign, bench: Store, n_val: int, long_ctx: int, fit_max: int) -> None:
    spec = camp.spec()
    runs = camp.store.runs(camp.name, "ok", camp.device)
    rng = random.Random(7)
    val = rng.sample(camp.pool(), n_val)
    keys = [RunKey(camp.name, c.id, long_ctx, camp.tasks[0], 0, 0, camp.device) for c in val]
    sweep(bench, camp.executor, str(camp.model_dir), keys)
    got = [(parse_config(k.config), m.peak_bytes) for k, m in bench.runs(camp.name)
           if k in set(keys) and m.peak_bytes]
    meas = np.array([p for _, p in got], dtype=float)
    fitter = fit_memory(spec, runs, fit_max)  # the shipped ledger's fit (max of phases)
    split = sum(bool(m.phase_bytes) for k, m in runs if k.context_tokens <= fit_max)
    form = "phase by phase" if any("." in k for k in fitter.coef_) else "on the peak alone"
    err = np.abs(fitter.predict([c for c, _ in got], long_ctx) / meas - 1)
    say(f"memory [shipped ledger, fitted {form}; {split} runs split by phase] fit on "
        f"{len(fitter.residuals_)} runs ≤ {fit_max} tok, predicted at {long_ctx} on {len(got)} "
        f"configs: median |err| {100 * np.median(err):.2f}% max {100 * err.max():.2f}%  "
        "(target ≤ 2% / ≤ 5%)")


def accuracy(camp: Campaign, bench: Store, n_held: int, contexts: Sequence[int]) -> None:
    # validation re-runs use another seed; the 16-bit anchors' other prompt sets are fitted
    # as `kvpareto fit` fits them (their spread widens the intervals)
    runs = [(k, m) for k, m in camp.store.runs(camp.name, "ok", camp.device)
            if k.n == camp.n and (k.seed == camp.seed or k.config == BASELINE.id
                                  and k.seed != VALIDATION_SEED)]
    table = camp.store.kv_error(camp.name, camp.device)
    seen = {k.config for k, _ in runs}
    rng = random.Random(11)
    held = rng.sample([c for c in camp.pool() if c.id not in seen], n_held)
    held_camp = replace(camp, store=bench, on_result=None)
    held_camp.run([(c, L) for L in contexts for c in [*held, BASELINE]])
    measured = {k: m for k, m in bench.runs(camp.name) if k.n == camp.n}
    # 16-bit anchors reach further; the calibrated range is where quantized runs were made
    calibrated = max(k.context_tokens for k, _ in runs if k.config != BASELINE.id)
    anchors = sorted({k.context_tokens for k, _ in runs if k.context_tokens > calibrated})
    say(f"accuracy: quantized runs ≤ {calibrated} tok, 16-bit anchors at {anchors or 'none'}; "
        f"n = {camp.n} prompts a run; {n_held} held-out configurations")
    # Runs' KL is against their own weights, so these fits leave the 4-bit weights' own KL out
    # (the shipped artifacts add it: `python -m bench.awq_kl` checks that the two add up)
    fits = {task: fit_accuracy(runs, table, task) for task in camp.tasks}
    for task in camp.tasks:
        for metric, fit in fits[task].items():
            for group in (["≤ calibrated", [L for L in contexts if L <= calibrated]],
                          [f"{2 * calibrated} (2×)", [L for L in contexts if L > calibrated]]):
                _report(task, metric, fit, group, held, measured, camp, table)
            if METRICS[metric] == "accuracy" and anchors:  # what the anchor buys
                bare = fit.model_copy(update={"baseline": {
                    L: v for L, v in fit.baseline.items() if L <= calibrated}})
                _report(task, f"{metric} (no anchor)", bare,
                        [f"{2 * calibrated} (2×)", [L for L in contexts if L > calibrated]],
                        held, measured, camp, table)
    # Accuracy intervals are for a measurement on any prompt set (what a user and `validate`
    # measure: models.accuracy.error_scale); the held-out runs above share the anchor's prompts.
    # The same configurations at 2× on a prompt set no fit has seen:
    longer = [L for L in contexts if L > calibrated]
    fresh = replace(camp, store=bench, on_result=None, seed=FRESH_SEED)
    fresh.run([(c, L) for L in longer for c in [*held, BASELINE]])
    measured = {k: m for k, m in bench.runs(camp.name) if k.n == camp.n}
    for task in camp.tasks:
        for metric, fit in fits[task].items():
            _report(task, metric, fit, [f"{2 * calibrated} (2×), other prompts", longer], held,
                    measured, fresh, table)
    # The same extrapolation one step down, inside the testbed's training lengths: quantized runs
    # ≤ half the calibrated length (16-bit anchors kept), predicted at the calibrated length.
    # It separates extrapolation as such from the testbed's own change beyond 512 tokens.
    half = calibrated // 2
    short = [(k, m) for k, m in runs if k.context_tokens <= half or k.config == BASELINE.id]
    if any(k.config != BASELINE.id for k, _ in short):
        say(f"accuracy, fitted on quantized runs ≤ {half} tok only (same held-out runs):")
        for task in camp.tasks:
            for metric, fit in fit_accuracy(short, table, task).items():
                _report(task, metric, fit, [f"{calibrated} (2× of {half})", [calibrated]], held,
                        measured, camp, table)


def _report(task, metric, fit, group, held, measured, camp, table) -> None:  # type: ignore[no-untyped-def]
    label, lengths = group
    col = metric.split()[0]  # "exact_match (no anchor)" reads exact_match
    y, mean, lo, hi, trivial = [], [], [], [], []
    for L in lengths:
        base = measured.get(RunKey(camp.name, BASELINE.id, L, task, camp.seed, camp.n, camp.device))
        rows = [(c, measured.get(RunKey(camp.name, c.id, L, task, camp.seed, camp.n, camp.device)))
                for c in held]
        rows = [(c, m) for c, m in rows if m is not None and getattr(m, col) is not None]
        if not rows or base is None:
            continue
        p = predict(fit, design([c for c, _ in rows], table), L)
        y += [float(getattr(m, col)) for _, m in rows]
        mean += list(p.mean)
        lo += list(p.lower)
        hi += list(p.upper)
        trivial += [float(getattr(base, col))] * len(rows)
    if not y:
        return
    s = held_out_scores(y, mean, lo, hi, trivial)
    # how sure a coverage figure on this many runs is (95% Wilson interval)
    c_lo, c_hi = wilson_interval(s.inside, s.n)
    # an accuracy moves in whole prompts: what exact 90% intervals around exactly right
    # predictions would cover (far above 90% where most runs sit at the ceiling)
    floor = (f"; exact intervals of whole prompts would cover ≥ "
             f"{100 * np.mean([least_interval_mass(p, camp.n) for p in mean]):.1f}%"
             if METRICS[col] == "accuracy" else "")
    if METRICS[col] == "accuracy":  # coverage where answers were really lost
        hit, lost = degraded_coverage(y, lo, hi, trivial, camp.n)
        floor += (f"; degraded (≥ {LOST_PROMPTS} prompts lost) {hit}/{lost}"
                  + (f" = {100 * hit / lost:.0f}%" if lost else ""))
    say(f"accuracy {task}/{metric} at {label} ({s.n} held-out runs): MAE {s.mae:.4f} vs trivial "
        f"{s.trivial_mae:.4f} (ratio {s.ratio:.2f}, target ≤ 0.5), Spearman {s.spearman:.3f}, "
        f"90% coverage {100 * s.coverage:.1f}% ({s.inside}/{s.n}; 95% CI {100 * c_lo:.0f}–"
        f"{100 * c_hi:.0f}%{floor})")


class OracleExecutor:
    """Answers from an exhaustive store (runs are deterministic per key): no new inference."""

    def __init__(self, store: Store, model: str) -> None:
        self.table = dict(store.runs(model, None))

    def map(self, model_dir: str, keys: Sequence[RunKey]):  # type: ignore[no-untyped-def]
        for k in keys:
            yield k, self.table.get(k) or Measurement.failed("not in the exhaustive store")

    def close(self) -> None:
        return None


def efficiency(camp: Campaign, bench: Store, context: int, share: float, metric: str,
               n: int) -> None:
    spec = camp.spec()
    # the reference study's exhaustive grid (its K/V pairs), as the study swept it
    configs: list[Config] = pool(spec, chunks=(None, 128), residuals=(0, 128),
                                 pairs=STUDY_KV_PAIRS)
    ex = replace(camp, store=bench, contexts=[context], tasks=camp.tasks[:1], configs=configs,
                 on_result=None, metric=metric, n=n)
    sign = 1.0 if METRICS[metric] == "accuracy" else -1.0
    bench.save_kv_error(camp.name, camp.device, camp.kv_error())
    cands = ex.exhaustive()
    sim = Store("sqlite://")
    sim.save_kv_error(camp.name, camp.device, camp.kv_error())
    act = replace(ex, store=sim, executor=OracleExecutor(bench, camp.name))
    act.active(int(share * len(cands)))

    def hv(store: Store) -> tuple[float, int]:
        rows = [m for k, m in store.runs(camp.name) if k.context_tokens == context and k.n == n
                and k.task == ex.tasks[0] and getattr(m, metric) is not None]
        mem = np.array([m.peak_bytes for m in rows], dtype=float)
        acc = sign * np.array([getattr(m, metric) for m in rows])
        return hypervolume(mem, acc, ref), len(rows)

    every = [m for k, m in bench.runs(camp.name)
             if k.n == n and m.peak_bytes and getattr(m, metric) is not None]
    worst = min(sign * getattr(m, metric) for m in every)
    ref = (max(m.peak_bytes for m in every) * 1.01, min(worst, 0.0) - 1e-9)  # type: ignore
    (h_all, n_all), (h_act, n_act) = hv(bench), hv(sim)
    say(f"efficiency {camp.name} at {context} tok ({ex.tasks[0]}/{metric}): exhaustive HV "
        f"{h_all:.4g} from {n_all} runs; active HV {h_act:.4g} from {n_act} runs "
        f"({100 * n_act / n_all:.0f}%): ratio {100 * h_act / h_all:.1f}% (target ≥ 98%)")


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True, help="model folder, e.g. models/testbed/testbed-llama")
    p.add_argument("--db", default="runs/testbed.db", help="store holding the calibration runs")
    p.add_argument("--bench-db", default=None, help="store of the bench's own runs")
    p.add_argument("--sections", default="memory,accuracy,efficiency")
    p.add_argument("--tasks", default="kv_retrieval,passkey")
    p.add_argument("--n", type=int, default=64, help="samples per run (as calibrated)")
    p.add_argument("--held-out", type=int, default=120)
    p.add_argument("--efficiency-n", type=int, default=8, help="samples per exhaustive run")
    p.add_argument("--frontier-metric", default="exact_match", help="exact_match | kl | answer_nll")
    p.add_argument("--executor", default="local", help="local | ray (runs on every core)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    p.add_argument("--contexts", default="256,512", help="the calibrated lengths, e.g. 1024,2048: "
                   "memory is fitted on runs up to the longest and predicted at 4× it, accuracy "
                   "held out at each and at 2× the longest")
    p.add_argument("--memory-context", type=int, default=0, help="where memory is predicted "
                   "(default: 4× the longest calibrated length)")
    p.add_argument("--weights", default="", help="weight settings the calibration ran, e.g. w16 "
                   "(default: all; a real model's 4-bit folders take hours each)")
    a = p.parse_args(argv)
    contexts = sorted(int(x) for x in a.contexts.split(",") if x.strip())
    from pathlib import Path

    model_dir = Path(a.model)
    bench = Store(a.bench_db or f"runs/bench-{model_dir.resolve().name}.db")
    executor = make_executor(a.executor, a.address)
    camp = Campaign(Store(a.db), executor, model_dir, contexts, a.tasks.split(","), a.n)
    camp = replace(camp, configs=pool_of(camp.spec(), a.weights))
    sections = a.sections.split(",")
    longest = contexts[-1]
    try:
        if "memory" in sections:
            memory(camp, bench, 30, a.memory_context or 4 * longest, longest)
        if "accuracy" in sections:
            accuracy(camp, bench, a.held_out, [*contexts, 2 * longest])
        if "efficiency" in sections:
            efficiency(camp, bench, longest, 0.2, a.frontier_metric, a.efficiency_n)
    finally:
        executor.close()


if __name__ == "__main__":
    main()

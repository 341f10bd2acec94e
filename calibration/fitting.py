"""Fit a model's artifact from the results store: memory coefficients, accuracy, K/V errors.

Memory: the ledger's max-of-phases transient (plus a free overhead) fitted to measured
peak − exact terms (weights + KV from the ledger), coefficients ≥ 0. Runs whose probe split the
peak by phase give one linear equation per phase (each phase's own terms against its own
measured peak: a convex fit that pins every term); runs without the split fall back to
multi-start bounded least squares on the max. Both on the relative error.
Accuracy: `models.accuracy.MetricModel`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import MetricModel, Target
from models.artifact import Artifact, MemoryFit, MetricFit
from models.memory import (
    CPU_SDPA_BLOCK,
    DEFAULT_RUNTIME,
    PROFILES,
    TRANSIENT_TERMS,
    MemoryFitter,
    profile_of,
)
from models.runtime import KERNEL_KEYS, UNRECORDED, runtime_label
from models.space import AWQ_DEFAULT_GROUP, BASELINE, parse_config, parse_weights
from models.specs import ArchSpec, spec_from_config

# (store column, kind) of every fitted accuracy metric
METRICS: dict[str, Literal["accuracy", "loss"]] = {
    "exact_match": "accuracy", "answer_nll": "loss", "kl": "loss"}
MIN_N = 4  # runs with fewer samples (memory-only runs) do not enter the accuracy fit


Runs = list[tuple[RunKey, Measurement]]


def memory_runs(runs: Runs) -> tuple[Runs, dict[str, str]]:
    """The runs with a measured peak from one runtime (a fit mixes no kernel paths), and its
    fingerprint: the recorded runtime with the most runs; runs stored before fingerprints were
    recorded only when no recorded one exists."""
    # one peak per prefill: another prompt seed (the anchors' spread) has the same shapes
    first: dict[tuple[str, int, str, int, str], int] = {}
    for k, _ in runs:
        same = (k.config, k.context_tokens, k.task, k.n, k.device)
        first[same] = min(first.get(same, k.seed), k.seed)
    groups: dict[str, Runs] = {}
    for k, m in runs:
        if m.peak_bytes is not None and first[(k.config, k.context_tokens, k.task, k.n,
                                                 k.device)] == k.seed:
            groups.setdefault(runtime_label(m.versions | {"device": k.device}), []).append((k, m))
    if not groups:
        return [], {}
    recorded = [g for g in groups if not g.endswith(UNRECORDED)] or list(groups)
    label = max(recorded, key=lambda g: len(groups[g]))
    k, m = groups[label][0]
    keep = (*KERNEL_KEYS, "cpu", "gpu", "cuda", "torch", "transformers", "runtime_evidence")
    return groups[label], {key: str(v) for key, v in (m.versions | {"device": k.device}).items()
                           if key in keep}


def fit_memory(spec: ArchSpec, runs: Runs, max_context: int | None = None,
               bound: bool = True, profile: str = DEFAULT_RUNTIME) -> MemoryFitter:
    """The memory fit of `runs` measured on runtime `profile` (its terms, its first-principles
    prior); `bound`: also the leave-one-chunk-out fits its upper bound needs (a sweep's
    sampler, which only ranks candidates, skips them)."""
    rows = [(k, m) for k, m in runs if m.peak_bytes is not None
            and (max_context is None or k.context_tokens <= max_context)]
    if len(rows) < len(TRANSIENT_TERMS) + 1:
        raise ValueError(f"need at least {len(TRANSIENT_TERMS) + 1} runs with a measured peak "
                         f"to fit memory; have {len(rows)}")
    # runs of one device per fit (build_artifact filters); CPU's SDPA attention tile is known
    p = PROFILES[profile]
    fixed = ({"sdpa_block": CPU_SDPA_BLOCK}
             if rows[0][0].device == "cpu" and "sdpa_block" in p.fitted_terms() else {})
    fitter = MemoryFitter(spec, terms=p.fitted_terms(), fixed=fixed,
                          defaults=p.first_principles().coefficients)
    return fitter.fit([parse_config(k.config) for k, _ in rows],
                                  [k.context_tokens for k, _ in rows],
                                  [int(m.peak_bytes or 0) for _, m in rows],
                                  [m.phase_bytes or None for _, m in rows],
                                  cross_validate=bound)


# log10(value − 16-bit value + floor) is the loss target, and the floor the loss's noise scale:
# small enough that real damage stands out, large enough that the many near-lossless runs (and
# runs a little below the 16-bit one) do not dominate a fit judged on the raw scale. Each fit
# keeps the candidate with the least cross-validated MAE (exact match: the floor of its KL guide).
LOSS_FLOORS = {"kl": (0.01, 0.03, 0.1), "answer_nll": (1e-3, 1e-2, 3e-2, 1e-1),
               "exact_match": (0.01, 0.05, 0.2)}


@dataclass(frozen=True)
class WeightsKL:
    """The 4-bit weights' own KL on one task, measured: per AWQ group size, context → mean over
    the prompt sets, and the standard error of a new prompt set's mean around it."""

    mean: dict[int, dict[int, float]]
    se: dict[int, dict[int, float]]

    def fields(self) -> dict[str, object]:
        """The KL fit's fields (`MetricFit.weights_kl`, `weights_kl_groups`, `weights_kl_se`)."""
        return {"weights_kl": self.mean.get(AWQ_DEFAULT_GROUP),
                "weights_kl_groups": self.mean or None, "weights_kl_se": self.se or None}


def fit_accuracy(runs: Runs, kv_error: dict[str, float], task: str,
                 metrics: dict[str, Literal["accuracy", "loss"]] = METRICS,
                 weights: WeightsKL | None = None) -> dict[str, MetricFit]:
    """One MetricFit per metric for `task` over its accuracy runs (n ≥ MIN_N). `weights` (the
    4-bit weights' own KL) goes with the KL fit: runs' KL leaves it out."""
    rows = [(k, m) for k, m in runs if k.task == task and k.n >= MIN_N]
    out = {}
    for metric, kind in metrics.items():
        have = [(k, m) for k, m in rows if getattr(m, metric) is not None
                and (kind != "accuracy" or m.kl is not None)]
        if len(have) < 8:
            continue
        # Exact match saturates on small models: fit it through the graded KL (two stages).
        guide = np.array([m.kl for _, m in have]) if kind == "accuracy" else None
        samples = int(np.median([k.n for k, _ in have])) if kind == "accuracy" else None
        model = MetricModel(Target(task, metric, kind, samples=samples),
                            loss_floor=LOSS_FLOORS.get(metric, 1e-5))
        out[metric] = model.fit([parse_config(k.config) for k, _ in have],
                                [k.context_tokens for k, _ in have],
                                [getattr(m, metric) for _, m in have], kv_error,
                                guide=guide, seeds=[k.seed for k, _ in have]).to_fit()
    if weights and AWQ_DEFAULT_GROUP in weights.mean and "kl" in out:
        out["kl"] = out["kl"].model_copy(update=weights.fields())
    return out


def weights_kl_tables(store: Store, model: str, device: str, task: str) -> WeightsKL | None:
    """The 4-bit weights' own KL on `task` per AWQ group size and context, averaged over the
    prompt sets measured (`Campaign.weights_kl`); None when group 128 was never measured.

    A new prompt set of n prompts moves the mean by sd/√n; the tables' own error adds sd/√(nk)
    over k sets: se = sd/√n · √(1 + 1/k), sd the prompts' standard deviation (where stored)."""
    kl, sd = store.weights_kl(model, device), store.weights_kl_sd(model, device)
    sets: dict[tuple[int, int], list[tuple[float, float | None, int]]] = {}
    for key, value in kl.items():
        w, t, L, _, n = key
        if t == task:
            group = parse_weights(w).group or AWQ_DEFAULT_GROUP
            sets.setdefault((group, L), []).append((value, sd.get(key), n))
    mean: dict[int, dict[int, float]] = {}
    se: dict[int, dict[int, float]] = {}
    for (group, L), rows in sorted(sets.items()):
        mean.setdefault(group, {})[L] = float(np.mean([v for v, _, _ in rows]))
        spreads = [s / np.sqrt(n) for _, s, n in rows if s is not None and n > 0]
        if spreads:
            se.setdefault(group, {})[L] = float(
                np.sqrt(np.mean(np.square(spreads))) * np.sqrt(1 + 1 / len(rows)))
    return WeightsKL(mean, se) if AWQ_DEFAULT_GROUP in mean else None


def profile_fits(spec: ArchSpec, stores: list[Store], model: str, device: str,
                 max_context: int | None = None) -> dict[str, MemoryFit]:
    """Memory fits of the runtime profiles other than the default, one per store of
    memory-only probes (`kvpareto probe --attention eager`): profile name → fit."""
    out: dict[str, MemoryFit] = {}
    for store in stores:
        runs, fingerprint = memory_runs(store.runs(model, "ok", device))
        if not runs:
            raise ValueError(f"{store.url}: no memory runs of {model!r} on {device}")
        profile = profile_of(fingerprint.get("attention", "sdpa"))
        if profile is None or profile == DEFAULT_RUNTIME:
            raise ValueError(f"{store.url}: its runs were measured under "
                             f"{fingerprint.get('attention', 'sdpa')} attention, the default "
                             f"runtime's ({DEFAULT_RUNTIME}); --memory-db takes stores of "
                             "another attention (kvpareto probe --attention eager)")
        if profile in out:
            raise ValueError(f"{store.url}: a second store of {profile} runs")
        fit = fit_memory(spec, runs, max_context, profile=profile)
        out[profile] = fit.to_fit(runtime_label(fingerprint), fingerprint)
    return out


def build_artifact(store: Store, model: str, model_dir: Path, device: str = "cpu",
                   max_memory_context: int | None = None,
                   memory_stores: list[Store] | None = None) -> Artifact:
    """The artifact of `model` from every ok run stored for it on `device`; `memory_stores`:
    stores of memory probes under other runtimes (`profile_fits`)."""
    config_json = json.loads((Path(model_dir) / "config.json").read_text())
    spec = spec_from_config(config_json, model)
    runs = [(k, m) for k, m in store.runs(model, "ok", device) if k.seed != VALIDATION_SEED]
    if not runs:
        raise ValueError(f"no successful runs of {model!r} on {device} in the store; "
                         "run `kvpareto calibrate` first")
    kv_error = store.kv_error(model, device)
    if not kv_error:
        raise ValueError(f"no K/V error table for {model!r} on {device}; run calibrate first")
    mem_runs, fingerprint = memory_runs(runs)
    memory = fit_memory(spec, mem_runs, max_memory_context)
    tasks = sorted({k.task for k, _ in runs})
    accuracy = {t: fits for t in tasks if (fits := fit_accuracy(
        runs, kv_error, t, weights=weights_kl_tables(store, model, device, t)))}
    contexts = sorted({k.context_tokens for k, _ in runs  # 16-bit anchors are not calibration
                       if k.n >= MIN_N and k.config != BASELINE.id}) or sorted(
        {k.context_tokens for k, _ in runs if k.n >= MIN_N})
    return Artifact(
        model=model, config_json=config_json,
        memory=memory.to_fit(runtime_label(fingerprint), fingerprint),
        memory_profiles=profile_fits(spec, memory_stores or [], model, device,
                                     max_memory_context),
        kv_error=kv_error, accuracy=accuracy, calibrated_contexts=contexts, tasks=tasks,
        weight_bits=sorted({parse_config(k.config).weights.bits for k, _ in runs
                            if k.n >= MIN_N}) if accuracy else None,
    )

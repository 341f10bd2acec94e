"""Cross-validation of the accuracy model on stored calibration runs: how model choices (the form
of the loss, its floors) were made without touching the held-out bench runs.
`python -m bench.accuracy_cv --help`.

Folds hold out whole configurations (5 folds); the 16-bit baseline always trains. "ratio" is the
MAE over that of the trivial predictor answering the measured 16-bit value; `--extrapolate`
trains on quantized runs at the shortest calibrated length and tests the next one.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.held_out import held_out_scores
from calibration.fitting import LOSS_FLOORS, METRICS, MIN_N
from calibration.store import Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import FORMS, MetricModel, Target, design
from models.space import BASELINE, parse_config

# the floors before they were chosen per fit (kept to reproduce that comparison)
FIXED_FLOORS = {"kl": 0.05, "answer_nll": 1e-5, "exact_match": 0.05}


def cross_validate(store: Store, model: str, target: Target, estimator: MetricModel,
                   extrapolate: bool, folds: int = 5, seed: int = 0
                   ) -> tuple[float, float, float]:
    """(MAE ratio, Spearman, 90% coverage) of `estimator` (unfitted) on held-out
    configurations of the stored runs of `target`."""
    task, metric, kind = target.task, target.metric, target.kind
    runs = [(k, m) for k, m in store.runs(model, "ok", "cpu")
            if k.seed != VALIDATION_SEED and k.n >= MIN_N and k.task == task
            and getattr(m, metric) is not None and m.kl is not None]
    cfg = [parse_config(k.config) for k, _ in runs]
    ctx = np.array([k.context_tokens for k, _ in runs])
    y = np.array([getattr(m, metric) for _, m in runs], dtype=float)
    kl = np.array([m.kl for _, m in runs], dtype=float)
    base = np.array([c.id == BASELINE.id for c in cfg])
    lengths = sorted(set(ctx[~base].tolist()))
    ids = sorted({c.id for c, b in zip(cfg, base, strict=True) if not b})
    fold = dict(zip(ids, np.random.default_rng(seed).permutation(len(ids)) % folds,
                    strict=True))
    table = store.kv_error(model, "cpu")
    out = []
    for f in range(folds):
        held = np.array([fold.get(c.id) == f for c in cfg])
        if extrapolate:
            test = held & ~base & (ctx == lengths[1])
            train = ~held & ((ctx <= lengths[0]) | base)
        else:
            test, train = held & ~base, ~(held & ~base)
        fit = estimator.with_params().fit(
            [c for c, t in zip(cfg, train, strict=True) if t], ctx[train], y[train], table,
            guide=kl[train] if kind == "accuracy" else None)
        p = fit.predict(design([c for c, t in zip(cfg, test, strict=True) if t], table),
                    ctx[test])
        trivial = np.array([y[base & (ctx == L)].mean() for L in ctx[test]])
        out.append((y[test], p.mean, p.lower, p.upper, trivial))
    s = held_out_scores(*(np.concatenate(z) for z in zip(*out, strict=True)))
    return s.ratio, s.spearman, s.coverage


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", default="runs/testbed.db")
    p.add_argument("--models", default="testbed-llama,testbed-qwen2")
    p.add_argument("--tasks", default="kv_retrieval,passkey")
    p.add_argument("--forms", default=",".join(FORMS), help=f"of {', '.join(FORMS)}")
    p.add_argument("--floors", choices=("chosen", "fixed"), default="chosen",
                   help="chosen: the shipped grids, one picked per fit; fixed: the old constants")
    p.add_argument("--extrapolate", action="store_true")
    p.add_argument("--context-slope", choices=("bounded", "free"), default="bounded",
                   help="bounded: the shipped lower bound (MetricModel's context_slope_min); "
                        "free: unbounded, as fitted before")
    a = p.parse_args(argv)
    slope_min = MetricModel(Target("", "", "loss")).context_slope_min
    store = Store(a.db)
    floors = dict(LOSS_FLOORS) if a.floors == "chosen" else dict(FIXED_FLOORS)
    for form in a.forms.split(","):
        if form not in FORMS:
            p.error(f"unknown form {form!r}; allowed: {', '.join(FORMS)}")
        rows: dict[str, list[tuple[float, float, float]]] = {m: [] for m in METRICS}
        for model in a.models.split(","):
            for task in a.tasks.split(","):
                for metric, kind in METRICS.items():
                    target = Target(task, metric, kind, samples=64 if kind == "accuracy" else None)
                    estimator = MetricModel(
                        target, form=form, loss_floor=floors[metric],
                        context_slope_min=None if a.context_slope == "free" else slope_min)
                    r = cross_validate(store, model, target, estimator, a.extrapolate)
                    rows[metric].append(r)
                    print(f"{form:10s} {model:15s} {task:13s} {metric:12s} ratio {r[0]:.2f} "
                          f"Spearman {r[1]:.3f} coverage {100 * r[2]:.0f}%", flush=True)
        for metric, rs in rows.items():
            z = np.array(rs)
            print(f"{form:10s} mean {metric:12s} ratio {z[:, 0].mean():.3f} Spearman "
                  f"{z[:, 1].mean():.3f} coverage {100 * z[:, 2].mean():.1f}%  "
                  f"({a.floors} floors, {a.context_slope} context slope"
                  f"{', extrapolating' if a.extrapolate else ''})", flush=True)


if __name__ == "__main__":
    main()

"""Cross-model prediction: fit the accuracy model on one model's runs, then predict another
model's runs from only that model's K/V error table and its 16-bit anchors (no quantized run of
it enters). Prints, per metric, the MAE over the trivial predictor's (the target's measured 16-bit
value), Spearman, and 90 % coverage overall and on runs that lose ≥ 3 prompts, next to the
target's own cross-validated fit for scale. `python -m bench.transfer --help`.

The tasks may differ between the models (a difficulty setting each model has headroom on): the
target's 16-bit anchors carry the level, the source's fit carries how quantization error turns
into lost answers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from bench.held_out import LOST_PROMPTS, degraded_coverage, held_out_scores
from calibration.fitting import METRICS, MIN_N, fit_accuracy
from calibration.harness.stats import wilson_interval
from calibration.store import Measurement, RunKey, Store
from calibration.store.records import VALIDATION_SEED
from models.accuracy import design, predict
from models.accuracy.problem import anchor_sets, anchor_spread, anchors
from models.artifact import MetricFit
from models.space import BASELINE, parse_config

Runs = list[tuple[RunKey, Measurement]]


@dataclass(frozen=True)
class Side:
    """One model's accuracy runs of one task, and its K/V error table."""

    store: Store
    model: str
    task: str
    device: str = "cpu"

    def runs(self) -> Runs:
        return [(k, m) for k, m in self.store.runs(self.model, "ok", self.device)
                if k.task == self.task and k.n >= MIN_N and k.seed != VALIDATION_SEED]

    def kv_error(self) -> dict[str, float]:
        table = self.store.kv_error(self.model, self.device)
        if not table:
            raise SystemExit(f"{self.model}: no K/V error table in {self.store.url}")
        return table


def anchors_of(runs: Runs, metric: str, coverage: float
               ) -> tuple[dict[int, float], dict[int, float] | None]:
    """The target's 16-bit anchors (median over its prompt sets, as its own fit takes them)
    and their spread between sets: all that the transferred fit learns of the target."""
    base = [(k, float(v)) for k, m in runs
            if k.config == BASELINE.id and (v := getattr(m, metric)) is not None]
    _, by_seed = anchor_sets([k.seed for k, _ in base], [k.context_tokens for k, _ in base],
                             [v for _, v in base])
    return anchors(by_seed), anchor_spread(by_seed, coverage) or None


def transferred(fit: MetricFit, task: str, baseline: dict[int, float],
                spread: dict[int, float] | None = None) -> MetricFit:
    """The source's fit with the target's 16-bit anchors and their spread (and no 4-bit
    weights' table: the target's was never measured; runs' KL is against their own weights)."""
    return fit.model_copy(update={"task": task, "baseline": baseline, "baseline_spread": spread,
                                  "weights_kl": None, "weights_kl_groups": None,
                                  "weights_kl_se": None})


def report(source: Side, target: Side, coverage: float) -> None:
    src_runs, dst_runs = source.runs(), target.runs()
    fits = fit_accuracy(src_runs, source.kv_error(), source.task)
    own = fit_accuracy(dst_runs, target.kv_error(), target.task)
    table = target.kv_error()
    print(f"{source.model}/{source.task} ({len(src_runs)} runs) → {target.model}/{target.task} "
          f"({len(dst_runs)} runs)")
    for metric, fit in fits.items():
        base, spread = anchors_of(dst_runs, metric, coverage)
        rows = [(k, m) for k, m in dst_runs if k.config != BASELINE.id
                and getattr(m, metric) is not None and k.context_tokens in base]
        if not rows:
            print(f"  {metric}: no target runs at a length with a 16-bit anchor")
            continue
        configs = [parse_config(k.config) for k, _ in rows]
        tokens = np.array([k.context_tokens for k, _ in rows], dtype=np.int64)
        p = predict(transferred(fit, target.task, base, spread), design(configs, table), tokens)
        y = np.array([float(getattr(m, metric)) for _, m in rows])
        trivial = np.array([base[int(L)] for L in tokens])
        s = held_out_scores(y, p.mean, p.lower, p.upper, trivial)
        lo, hi = wilson_interval(s.inside, s.n)
        line = (f"  {metric:<12} MAE {s.mae:.4f} = {s.ratio:.2f}× trivial ({s.trivial_mae:.4f}),"
                f" Spearman {s.spearman:.2f}, {100 * coverage:.0f}% coverage "
                f"{100 * s.coverage:.0f}% ({s.inside}/{s.n}; "
                f"95% CI {100 * lo:.0f}–{100 * hi:.0f}%)")
        if METRICS[metric] == "accuracy":
            n = int(np.median([k.n for k, _ in rows]))
            hit, lost = degraded_coverage(y, p.lower, p.upper, trivial, n)
            line += f"; ≥ {LOST_PROMPTS} lost: {hit}/{lost}"
        if metric in own and own[metric].cv_mae is not None:
            line += f"; the target's own fit: CV MAE {own[metric].cv_mae:.4f}"
        print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from-db", required=True, help="store of the source model's runs")
    p.add_argument("--from-model", required=True, help="source model name, e.g. testbed-llama")
    p.add_argument("--from-task", required=True)
    p.add_argument("--to-db", required=True, help="store of the target model's runs")
    p.add_argument("--to-model", required=True)
    p.add_argument("--to-task", required=True)
    p.add_argument("--both-ways", action="store_true", help="also target → source")
    a = p.parse_args(argv)
    source = Side(Store(a.from_db), a.from_model, a.from_task)
    target = Side(Store(a.to_db), a.to_model, a.to_task)
    for s, t in [(source, target), (target, source)][:2 if a.both_ways else 1]:
        report(s, t, 0.9)


if __name__ == "__main__":
    main()

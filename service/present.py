"""How answers are shown, in one place: points, point clouds, GiB and metric texts, warnings.

Bytes stay integers until here; `gib_text` is the one way a GiB amount is written in a text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.memory import GIB, runtime_profile
from models.regime import baseline_shift
from models.runtime import UNRECORDED
from models.space import parse_weights
from service.answers import best_row
from service.engine import SHOWN_DECIMALS, Evaluation, accuracy_limit
from service.registry import ModelEntry
from service.schemas.common import ConfigPoint
from service.schemas.responses import PointCloud

Mask = NDArray[np.bool_]
F64 = NDArray[np.float64]
GIB_DIGITS = 4  # significant digits of a GiB amount in a text
# The harness measures KL against the configuration's own weights with a 16-bit cache
# (calibration.harness.evaluate): an artifact without the weights' own KL (MetricFit.weights_kl)
# does not see AWQ.
KV_ONLY_METRIC = "kl"


def gib_text(gib: float, digits: int = GIB_DIGITS) -> str:
    """A GiB amount with `digits` significant digits, no exponent, trailing zeros dropped:
    0.0302 GiB reads "0.0302", 12 reads "12", 7.99987 reads "8" only at 4 digits or fewer."""
    if gib == 0 or not math.isfinite(gib):
        return f"{gib:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(gib))))
    text = f"{gib:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def bytes_text(n_bytes: int) -> str:
    return f"{gib_text(n_bytes / GIB)} GiB"


def point(ev: Evaluation, row: int) -> ConfigPoint:
    """One row of an evaluation as an API point, compared with the 16-bit baseline."""
    return ConfigPoint.model_validate(points(ev, [row])[0])


def points(ev: Evaluation, rows: list[int]) -> list[dict[str, object]]:
    """Rows of an evaluation as `ConfigPoint` fields, compared with the 16-bit baseline: plain
    values, so a response model validates them all at once (far cheaper than one model each)."""
    m, base, acc = ev.memory, ev.baseline_row, ev.accuracy
    at = np.asarray(rows, dtype=np.int64)
    peak, base_peak = m.peak[at], int(m.peak[base])
    saved = base_peak - peak
    fraction = (saved / base_peak).tolist() if base_peak else [0.0] * len(at)
    ids = ev.entry.grid.ids
    cols = zip(at.tolist(), m.weights[at].tolist(), m.kv[at].tolist(),
               m.transient[at].tolist(), peak.tolist(), (peak / GIB).tolist(),
               (saved / GIB).tolist(), fraction, strict=True)
    if acc is not None:
        sign = 1.0 if acc.higher_is_better else -1.0
        mean = acc.mean[at]
        intervals = zip(mean.tolist(), acc.lower[at].tolist(), acc.upper[at].tolist(),
                        (sign * (acc.mean[base] - mean)).tolist(), np.isnan(mean).tolist(),
                        strict=True)
    out: list[dict[str, object]] = []
    for row, w, kv, tr, pk, pk_gib, saved_gib, frac in cols:
        interval, drop, extrapolated = None, None, False
        if acc is not None:
            mu, lo, hi, d, unknown = next(intervals)
            if not unknown:
                interval = {"mean": mu, "lower": lo, "upper": hi, "coverage": acc.fit.coverage}
                drop, extrapolated = d, acc.extrapolated
        out.append({
            "config": ids[row],
            "memory": {"weights_bytes": w, "kv_cache_bytes": kv, "transient_bytes": tr,
                       "overhead_bytes": m.overhead, "peak_bytes": pk, "peak_gib": pk_gib},
            "memory_saved_gib": saved_gib, "memory_saved_fraction": frac,
            "accuracy": interval, "drop_vs_baseline": drop, "extrapolated": extrapolated,
        })
    return out


def cloud(ev: Evaluation, mask: Mask, fit_mask: Mask) -> PointCloud:
    idx = np.flatnonzero(mask)
    ids = ev.entry.grid.ids

    def col(values: F64 | None) -> list[float | None]:
        if values is None:
            return [None] * len(idx)
        return [None if np.isnan(v) else round(float(v), SHOWN_DECIMALS) for v in values[idx]]

    acc = ev.accuracy
    return PointCloud(
        config=[ids[i] for i in idx],
        peak_gib=np.round(ev.memory.peak[idx] / GIB, SHOWN_DECIMALS).tolist(),
        mean=col(acc.mean if acc else None),
        lower=col(acc.lower if acc else None),
        upper=col(acc.upper if acc else None),
        fits=fit_mask[idx].tolist(),
    )


def warnings(ev: Evaluation, weights: Sequence[str] | None = None) -> list[str]:
    """What a prediction rests on that the numbers do not show; `weights`, the request's
    filter, keeps a note on weight settings the request left out from showing."""
    out = []
    ctx, spec, cal = ev.context_tokens, ev.entry.spec, ev.entry.calibration
    if spec.max_positions and ctx > spec.max_positions:
        out.append(f"context_tokens {ctx} exceeds {spec.name}'s max_position_embeddings "
                   f"{spec.max_positions}")
    fit = ev.entry.memory_fit
    if fit is None:
        out.append(first_principles_note(ev.entry))
    elif fit.contexts and ctx > max(fit.contexts):
        out.append(f"memory formula extrapolated: fitted on contexts up to {max(fit.contexts)} "
                   "tokens")
    if fit is not None and fit.runtime.endswith(UNRECORDED):
        out.append(f"memory fitted on runs whose kernel path was not recorded "
                   f"({fit.runtime}): on another CPU kernel path peaks differ "
                   "(with AMX, chunked prefills 13-35 % higher); re-measure on the deploying "
                   "machine (python -m bench.holdout) before trusting a tight budget")
    if cal is None or cal.design is None:
        out.append("no accuracy model for this model: memory-only answer, accuracy is null")
    elif ev.accuracy is not None and ev.accuracy.unknown:
        out.append(f"{ev.accuracy.unknown}: accuracy is null")
    elif ev.accuracy is not None and ev.accuracy.extrapolated:
        ctxs = ev.accuracy.fit.contexts
        out.append(f"accuracy extrapolated: calibrated on contexts {min(ctxs)}..{max(ctxs)}; "
                   "intervals are widened")
        shift = baseline_shift(cal.artifact.accuracy.get(ev.accuracy.fit.task, {}), ctx)
        if shift:
            out.append(shift)
    unrun = unrun_bits(cal.unrun_bits, weights) if cal is not None and cal.design else ()
    if unrun:
        out.append(f"{', '.join(f'{b}-bit' for b in unrun)} weights were never run in "
                   f"{ev.entry.name}'s calibration: their configurations' accuracy is null")
    if (ev.accuracy is not None and ev.accuracy.fit.metric == KV_ONLY_METRIC
            and not ev.accuracy.fit.weights_kl):
        out.append("kl is measured against the same weights with a 16-bit cache: on 4-bit (AWQ) "
                   "configurations it holds the KV cache's damage, not the weights'; compare "
                   "weights by exact_match or answer_nll")
    return out


def unrun_bits(unrun: Sequence[int], weights: Sequence[str] | None) -> list[int]:
    """The never-calibrated weight bits among those a request asks for (all, unfiltered)."""
    if weights is None:
        return list(unrun)
    asked = {parse_weights(w).bits for w in weights}
    return [b for b in unrun if b in asked]


def metric_names(ev: Evaluation) -> tuple[str | None, str | None, bool | None]:
    acc = ev.accuracy
    if acc is None:
        return None, None, None
    return acc.fit.task, acc.fit.metric, acc.higher_is_better


def first_principles_note(entry: ModelEntry) -> str:
    """Why an answer's transient and overhead terms are first-principles, and what that means."""
    fitted = entry.calibration.fitted_runtimes if entry.calibration else []
    why = (f"the artifact fits memory for {', '.join(fitted)} only" if fitted
           else "no fitted memory artifact for this model")
    profile = runtime_profile(entry.runtime)
    extra = (f" (+ {bytes_text(profile.overhead_bytes)} runtime overhead, assumed)"
             if profile.overhead_bytes else "")
    return (f"transient and runtime-overhead terms of runtime {entry.runtime} use "
            f"first-principles defaults{extra}: {why}; no measured upper bound")


def bound_factor(entry: ModelEntry) -> float:
    """The memory fit's upper-bound factor (1 for first-principles terms)."""
    return entry.coefficients.bound_factor if entry.coefficients is not None else 1.0


def known_until(entry: ModelEntry, ev: Evaluation) -> str:
    """A refusal's note on how far accuracy is known (empty without an accuracy model)."""
    if ev.accuracy is None:
        return ""
    return (f" (accuracy is known up to {accuracy_limit(entry, ev.accuracy.fit):,} tokens, "
            "the longest length the 16-bit model was measured at)")


def header(ev: Evaluation, weights: Sequence[str] | None = None) -> dict[str, object]:
    """The fields every answer at one context starts with (`weights`: the request's filter)."""
    task, metric, higher = metric_names(ev)
    fit = ev.entry.memory_fit
    return {
        "runtime": ev.entry.runtime,
        "memory_runtime": fit.runtime if fit else None,
        "memory_bound_factor": bound_factor(ev.entry),
        "model": ev.entry.name, "context_tokens": ev.context_tokens, "task": task,
        "metric": metric, "higher_is_better": higher,
        "accuracy_source": "artifact" if ev.accuracy else "none",
        "memory_coefficients": "fitted" if ev.memory_fitted else "default",
        "baseline": points(ev, [ev.baseline_row])[0], "warnings": warnings(ev, weights),
    }


def describe_best(ev: Evaluation, mask: Mask) -> str:
    acc = ev.accuracy
    if acc is None:
        return ""
    idx = np.flatnonzero(mask & ~np.isnan(acc.mean))
    if idx.size == 0:
        return ""
    row = best_row(ev, mask & ~np.isnan(acc.mean), acc.score)
    p = point(ev, row)
    interval = p.accuracy
    if interval is None or p.drop_vs_baseline is None:
        return ""
    return (f"; the best that fits is {p.config} with {acc.fit.metric} {interval.mean:.3f} "
            f"[{interval.lower:.3f}, {interval.upper:.3f}], drop {p.drop_vs_baseline:.3f}")


def smallest(ev: Evaluation, mask: Mask) -> str:
    idx = np.flatnonzero(mask)
    row = int(idx[np.argmin(ev.memory.peak[idx])])
    return (f"the smallest configuration ({ev.entry.grid.ids[row]}) needs "
            f"{bytes_text(int(ev.memory.peak[row]))}")


def wanted(floor: float | None, max_drop: float | None, conservative: bool) -> str:
    """The accuracy constraints as a refusal names them."""
    parts = []
    if floor is not None:
        parts.append(f"accuracy_floor {floor}")
    if max_drop is not None:
        parts.append(f"max_drop {max_drop}")
    how = " (judged by the interval's pessimistic end)" if conservative else ""
    return " and ".join(parts) + how

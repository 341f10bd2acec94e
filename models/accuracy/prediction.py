"""Prediction from a fitted metric model (an artifact's `MetricFit`): mean and interval per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from models.accuracy.design import F64, KNOTS, Design, features
from models.accuracy.forms import log_loss
from models.accuracy.intervals import bin_width
from models.accuracy.links import baseline_at, error_scale, from_target, logit_loss_interval
from models.accuracy.two_stage import drop_of_guide, model_spread
from models.artifact import Artifact, MetricFit
from models.space import AWQ_DEFAULT_GROUP


@dataclass(frozen=True)
class Prediction:
    """Per-row prediction; `extrapolated` when any row's context is outside the calibrated
    range (`extrapolated_rows` says which). Rows past the longest 16-bit anchor
    (`unanchored_rows`) lean on a 16-bit value nobody measured: their numbers are the last
    anchor's carried flat, not a prediction, and answers give them as unknown."""

    mean: F64
    lower: F64
    upper: F64
    extrapolated: bool
    extrapolated_rows: NDArray[np.bool_]
    anchored_until: int = 0
    unanchored_rows: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


def predict(
    fit: MetricFit, d: Design, context_tokens: int | NDArray[np.int64]
) -> Prediction:
    """Vectorised prediction for every row of a design at one context (or one per row)."""
    if fit.knots.get("k") != KNOTS:
        raise ValueError(f"{fit.task}/{fit.metric}: artifact uses other knots; re-run fit")
    x, names = features(d, context_tokens)
    if names != fit.feature_names:
        raise ValueError(f"{fit.task}/{fit.metric}: artifact features differ; re-run fit")
    z = log_loss(x, fit.coef, names, fit.floor, fit.form)
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.float64), z.shape)
    lo_ctx, hi_ctx = min(fit.contexts), max(fit.contexts)
    beyond = np.maximum(np.log2(tokens / hi_ctx), np.log2(lo_ctx / tokens))
    widen = 1.0 + fit.widening * np.maximum(beyond, 0.0)
    outside = beyond > 0
    q = fit.interval_q * widen
    spread = np.zeros(len(z))
    base = baseline_at(fit.baseline, tokens.astype(np.int64))
    if fit.link_x is not None and fit.link_y is not None:
        link = (fit.link_x, fit.link_y)
        # the extra loss is on the constrained features, which come first
        more = (x[:, :len(fit.extra_coef)] @ np.asarray(fit.extra_coef) if fit.extra_coef
                else np.zeros(len(z)))
        guide_z = z
        z = drop_of_guide(guide_z, link, more, base, fit.samples)
        # the 16-bit model loses nothing to itself: its value is the measured baseline
        lossless = d.lossless
        z = np.where(lossless, 0.0, z)
        if fit.guide_spread and not fit.logit_scale:  # the older normalized intervals
            spread = np.where(lossless, 0.0, model_spread(
                guide_z, fit.guide_spread, link, more, base, fit.samples))
        if fit.interval_bins:  # of the predicted drop
            q = bin_width(fit.interval_bins, z) * widen
    elif fit.interval_bins:  # a loss: of its predicted excess over the 16-bit loss
        q = bin_width(fit.interval_bins, np.power(10.0, z) - fit.floor) * widen
    if fit.kind == "accuracy" and fit.samples and fit.logit_scale:  # on the log-odds loss
        mean = from_target(fit.kind, base, z, fit.floor)
        lower, upper = logit_loss_interval(base, mean, q, fit.samples, fit.logit_scale)
    else:
        if fit.kind == "accuracy" and fit.samples:  # normalized scores: to accuracy units
            q = q * error_scale(base - z, fit.samples, spread)
        # an accuracy's target is its drop: the lower bound is the larger drop
        low, high = (z + q, z - q) if fit.kind == "accuracy" else (z - q, z + q)
        mean, lower, upper = (from_target(fit.kind, base, v, fit.floor) for v in (z, low, high))
    if fit.baseline_spread:  # the anchor moves between prompt sets: add it in quadrature
        anchor = baseline_at(fit.baseline_spread, tokens.astype(np.int64))
        lower, upper = widened(mean, lower, upper, anchor, fit.kind == "accuracy")
    if fit.weights_kl:  # the KL the 4-bit weights add to the cache's own (a measured table)
        awq, se = weights_part(fit, d, tokens.astype(np.int64))
        half = NormalDist().inv_cdf(0.5 + fit.coverage / 2) * se  # a prompt set's own spread
        mean, lower, upper = mean + awq, lower + awq - half, upper + awq + half
    longest = max(fit.baseline)
    return Prediction(mean, lower, upper, bool(outside.any()), outside, longest,
                      np.asarray(tokens > longest))


def widened(mean: F64, lower: F64, upper: F64, spread: F64, bounded: bool) -> tuple[F64, F64]:
    """An interval with an independent ± `spread` (the anchor's) added in quadrature on each
    side; an accuracy stays within [0, 1], a loss at or above 0."""
    low = mean - np.hypot(mean - lower, spread)
    high = mean + np.hypot(upper - mean, spread)
    return np.maximum(low, 0.0), np.minimum(high, 1.0) if bounded else high


def weights_part(fit: MetricFit, d: Design, tokens: NDArray[np.int64]) -> tuple[F64, F64]:
    """Per row, the 4-bit weights' own KL (their AWQ group's measured table, else group 128's)
    and the standard error of its mean over a prompt set (0 where not measured)."""
    means = fit.weights_kl_groups or {AWQ_DEFAULT_GROUP: fit.weights_kl or {}}
    errors = fit.weights_kl_se or {}
    awq, se = np.zeros(len(d.w4)), np.zeros(len(d.w4))
    w4 = d.w4.astype(bool)
    for group in np.unique(d.grid.w_group[w4]).tolist():
        rows = w4 & (d.grid.w_group == group)
        measured = group if group in means else AWQ_DEFAULT_GROUP
        awq[rows] = baseline_at(means[measured], tokens)[rows]
        if measured in errors:
            se[rows] = baseline_at(errors[measured], tokens)[rows]
    return awq, se


def metric_fit(artifact: Artifact, task: str, metric: str) -> MetricFit:
    """The fitted model for (task, metric), with an error listing what the artifact has."""
    if task not in artifact.accuracy:
        raise KeyError(f"{artifact.model} has no accuracy model for task {task!r}; "
                       f"calibrated tasks: {', '.join(sorted(artifact.accuracy)) or 'none'}")
    by_metric = artifact.accuracy[task]
    if metric not in by_metric:
        raise KeyError(f"{artifact.model}/{task} has no metric {metric!r}; "
                       f"available: {', '.join(sorted(by_metric))}")
    return by_metric[metric]

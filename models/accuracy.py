"""The accuracy model: task metrics predicted from the measured K/V quantization error.

Per (task, metric) a linear model over monotone hinge features of the effective key and value
errors (plus AWQ and context terms), fitted with non-negative weights on every feature that the
physics says can only hurt, so fewer bits never helps in expectation. Intervals are
split-conformal (cross-fitted), widened beyond the calibrated context range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import lsq_linear

from models.artifact import Artifact, MetricFit
from models.memory import GridArrays, grid_arrays, quantized_tokens
from models.space import Config, KVScheme

F64 = NDArray[np.float64]
ERROR_FLOOR = 1e-4
# Bins of the predicted drop for Mondrian conformal intervals: a saturated metric gets a tight
# interval where nothing degrades and a wide one where it does.
# The last edge is nominal (JSON has no infinity): the last bin takes everything above.
DROP_BINS = (0.02, 0.1, 1.0)
MIN_BIN_RUNS = 8
# Interval growth per doubling of the context beyond the calibrated range.
EXTRAPOLATION_WIDENING = 0.5
KNOTS = [-3.0, -2.5, -2.0, -1.5, -1.0, -0.5]
FREE_FEATURES = ("intercept", "log2_context")


def side_key(side: str, scheme: KVScheme) -> str | None:
    """Key of one side of a scheme in the artifact's `kv_error` table (None when 16-bit)."""
    bits = scheme.k_bits if side == "k" else scheme.v_bits
    if bits == 16:
        return None
    gran = str(scheme.granularity)
    if side == "v" and gran == "channel":
        gran = "token"  # KIVI: values are quantized per token
    if gran == "block":
        gran = f"block{scheme.group}"
    smooth = "-ks" if side == "k" and scheme.smooth_keys else ""
    return f"{side}{bits}-{gran}{smooth}"


@dataclass(frozen=True)
class Design:
    """Per-grid inputs that do not depend on the context length (computed once per grid)."""

    grid: GridArrays
    k_error: F64
    v_error: F64
    w4: F64


def design(configs: Sequence[Config], kv_error: dict[str, float]) -> Design:
    def lookup(side: str, c: Config) -> float:
        key = side_key(side, c.kv)
        if key is None:
            return 0.0
        if key not in kv_error:
            raise ValueError(f"no measured {side.upper()} error for {key!r} ({c.id})")
        return kv_error[key]

    return Design(
        grid=grid_arrays(configs),
        k_error=np.array([lookup("k", c) for c in configs], dtype=np.float64),
        v_error=np.array([lookup("v", c) for c in configs], dtype=np.float64),
        w4=np.array([c.weights.bits == 4 for c in configs], dtype=np.float64),
    )


def _hinges(u: F64, name: str) -> tuple[list[F64], list[str]]:
    cols = [u - np.log10(ERROR_FLOOR)]
    names = [f"{name}_log"]
    for t in KNOTS:
        cols.append(np.maximum(u - t, 0.0))
        names.append(f"{name}_hinge{t:g}")
    return cols, names


def _columns(
    d: Design, context_tokens: int | NDArray[np.int64]
) -> tuple[list[F64], list[str]]:
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(d.grid),))
    fraction = quantized_tokens(tokens, d.grid) / np.maximum(tokens, 1)
    # Error energy scales with the share of tokens held quantized (the rest is 16-bit).
    root = np.sqrt(fraction)
    kc, kn = _hinges(np.log10(d.k_error * root + ERROR_FLOOR), "k")
    vc, vn = _hinges(np.log10(d.v_error * root + ERROR_FLOOR), "v")
    cols = kc + vc + [d.w4, np.ones(len(tokens)), np.log2(tokens / 512.0)]
    return cols, kn + vn + ["awq", *FREE_FEATURES]


def features(d: Design, context_tokens: int | NDArray[np.int64]) -> tuple[F64, list[str]]:
    """Feature matrix (N × F) and names; constrained features first, free ones last."""
    cols, names = _columns(d, context_tokens)
    return np.column_stack(cols), names


def _target(kind: str, values: F64, baseline: F64, floor: float) -> F64:
    if kind == "accuracy":
        return baseline - values  # drop vs 16-bit
    return np.log10(np.maximum(values, 0.0) + floor)


def _solve(x: F64, y: F64, n_free: int) -> F64:
    lower = np.r_[np.zeros(x.shape[1] - n_free), np.full(n_free, -np.inf)]
    # A tiny ridge keeps the hinge weights stable when several features are collinear.
    ridge = 1e-3 * np.eye(x.shape[1])
    ridge[-n_free:, -n_free:] = 0
    xa = np.vstack([x, ridge])
    ya = np.r_[y, np.zeros(x.shape[1])]
    return np.asarray(lsq_linear(xa, ya, bounds=(lower, np.inf)).x, dtype=np.float64)


def _conformal_q(residuals: F64, coverage: float) -> float:
    n = len(residuals)
    if n == 0:
        return 0.0
    level = min(1.0, float(np.ceil((n + 1) * coverage)) / n)
    return float(np.quantile(residuals, level))


def _isotonic(z: F64, drop: F64) -> tuple[list[float], list[float]]:
    """Monotone non-decreasing drop as a function of the predicted guide (knots for np.interp)."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(z, drop)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def _binned_q(pred_drop: F64, residuals: F64, coverage: float) -> list[tuple[float, float]]:
    bins: list[tuple[float, float]] = []
    lowers = [-np.inf, *DROP_BINS[:-1]]
    for i, edge in enumerate(DROP_BINS):
        upper = np.inf if i == len(DROP_BINS) - 1 else edge
        # A sparse bin borrows the runs of the bins below it (never the tighter overall width
        # alone: few degraded runs must not make a degraded prediction look certain).
        j = i
        inside = (pred_drop > lowers[j]) & (pred_drop <= upper)
        while inside.sum() < MIN_BIN_RUNS and j > 0:
            j -= 1
            inside = (pred_drop > lowers[j]) & (pred_drop <= upper)
        q = _conformal_q(residuals[inside], coverage)
        bins.append((edge, max(q, bins[-1][1]) if bins else q))
    return bins


def baseline_at(table: dict[int, float], context_tokens: NDArray[np.int64]) -> F64:
    """16-bit value at any context: linear in log2(context), clamped outside the table."""
    xs = np.log2(np.array(sorted(table), dtype=np.float64))
    ys = np.array([table[k] for k in sorted(table)], dtype=np.float64)
    return np.interp(np.log2(np.asarray(context_tokens, dtype=np.float64)), xs, ys)


def fit_metric(
    task: str,
    metric: str,
    kind: str,
    configs: Sequence[Config],
    context_tokens: NDArray[np.int64],
    values: F64,
    kv_error: dict[str, float],
    folds: int = 5,
    coverage: float = 0.9,
    seed: int = 0,
    guide: F64 | None = None,
    guide_name: str = "kl",
    loss_floor: float = 1e-5,
) -> MetricFit:
    """Fit one metric on measured runs; the interval half-width is cross-fitted conformal.

    With `guide` (a graded metric of the same runs, e.g. KL vs 16-bit) an accuracy metric is
    fitted in two stages: the features predict log10(guide), and the drop is an isotonic
    function of that prediction. Saturated metrics (exact match on small models) need this:
    most runs lose nothing, and the graded guide tells which ones will.
    """
    if kind not in ("accuracy", "loss"):
        raise ValueError(f"kind must be 'accuracy' or 'loss'; got {kind!r}")
    tokens = np.asarray(context_tokens, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    base_rows = [i for i, c in enumerate(configs) if c.kv.is_baseline and c.weights.bits == 16]
    if not base_rows:
        raise ValueError(f"{task}/{metric}: no 16-bit baseline run to anchor the fit")
    baseline: dict[int, float] = {}
    for t in sorted(set(tokens[base_rows].tolist())):
        baseline[int(t)] = float(np.mean(values[[i for i in base_rows if tokens[i] == t]]))
    floor = loss_floor
    x, names = features(design(configs, kv_error), tokens)
    y = _target(kind, values, baseline_at(baseline, tokens), floor)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(y)) % max(2, min(folds, len(y)))
    if kind == "accuracy" and guide is not None:
        return _fit_two_stage(
            task, metric, x, names, y, np.asarray(guide, dtype=np.float64), baseline, fold_of,
            coverage, floor, guide_name,
        )
    n_free = len(FREE_FEATURES)
    residuals = np.empty(len(y))
    for f in np.unique(fold_of):
        train = fold_of != f
        coef = _solve(x[train], y[train], n_free)
        residuals[~train] = np.abs(y[~train] - x[~train] @ coef)
    coef = _solve(x, y, n_free)
    return MetricFit(
        task=task,
        metric=metric,
        kind=kind,  # type: ignore[arg-type]
        feature_names=names,
        coef=[float(c) for c in coef],
        knots={"k": KNOTS, "v": KNOTS},
        baseline=baseline,
        interval_q=_conformal_q(residuals, coverage),
        coverage=coverage,
        contexts=sorted(baseline),
        floor=floor,
        n_runs=len(residuals),
        cv_mae=float(np.mean(residuals)),
    )


def _fit_two_stage(
    task: str,
    metric: str,
    x: F64,
    names: list[str],
    drop: F64,
    guide: F64,
    baseline: dict[int, float],
    fold_of: NDArray[np.int64],
    coverage: float,
    floor: float,
    guide_name: str,
) -> MetricFit:
    n_free = len(FREE_FEATURES)
    g = np.log10(np.maximum(guide, 0.0) + floor)
    pred_drop = np.empty(len(drop))
    for f in np.unique(fold_of):
        train = fold_of != f
        z = x @ _solve(x[train], g[train], n_free)
        link_x, link_y = _isotonic(z[train], drop[train])
        pred_drop[~train] = np.interp(z[~train], link_x, link_y)
    residuals = np.abs(drop - pred_drop)
    coef = _solve(x, g, n_free)
    link_x, link_y = _isotonic(x @ coef, drop)
    return MetricFit(
        task=task,
        metric=metric,
        kind="accuracy",
        feature_names=names,
        coef=[float(c) for c in coef],
        knots={"k": KNOTS, "v": KNOTS},
        baseline=baseline,
        interval_q=_conformal_q(residuals, coverage),
        coverage=coverage,
        contexts=sorted(baseline),
        floor=floor,
        n_runs=len(drop),
        cv_mae=float(np.mean(residuals)),
        guide=guide_name,
        link_x=link_x,
        link_y=link_y,
        interval_bins=_binned_q(pred_drop, residuals, coverage),
    )


@dataclass(frozen=True)
class Prediction:
    """Per-row prediction; `extrapolated` when any row's context is outside the calibrated
    range (`extrapolated_rows` says which)."""

    mean: F64
    lower: F64
    upper: F64
    extrapolated: bool
    extrapolated_rows: NDArray[np.bool_]


def predict(
    fit: MetricFit, d: Design, context_tokens: int | NDArray[np.int64]
) -> Prediction:
    """Vectorised prediction for every row of a design at one context (or one per row)."""
    if fit.knots.get("k") != KNOTS:
        raise ValueError(f"{fit.task}/{fit.metric}: artifact uses other knots; re-run fit")
    cols, names = _columns(d, context_tokens)
    if names != fit.feature_names:
        raise ValueError(f"{fit.task}/{fit.metric}: artifact features differ; re-run fit")
    z = np.zeros(len(d.grid))
    for c, col in zip(fit.coef, cols, strict=True):
        if c:
            z += c * col
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.float64), z.shape)
    lo_ctx, hi_ctx = min(fit.contexts), max(fit.contexts)
    beyond = np.maximum(np.log2(tokens / hi_ctx), np.log2(lo_ctx / tokens))
    widen = 1.0 + EXTRAPOLATION_WIDENING * np.maximum(beyond, 0.0)
    q = fit.interval_q * widen
    if fit.link_x is not None and fit.link_y is not None:
        z = np.interp(z, fit.link_x, fit.link_y)  # predicted drop
        if fit.interval_bins:
            edges = np.array([e for e, _ in fit.interval_bins])
            qs = np.array([q for _, q in fit.interval_bins])
            q = qs[np.minimum(np.searchsorted(edges, z), len(qs) - 1)] * widen
    if fit.kind == "accuracy":
        base = baseline_at(fit.baseline, tokens.astype(np.int64))
        mean = np.clip(base - z, 0.0, 1.0)
        lower, upper = np.clip(base - z - q, 0.0, 1.0), np.clip(base - z + q, 0.0, 1.0)
    else:
        mean = np.power(10.0, z) - fit.floor
        lower = np.maximum(np.power(10.0, z - q) - fit.floor, 0.0)
        upper = np.power(10.0, z + q) - fit.floor
    outside = widen > 1.0
    return Prediction(mean, lower, upper, bool(outside.any()), outside)


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

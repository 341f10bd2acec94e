"""The accuracy model: task metrics predicted from the measured K/V quantization error.

Per (task, metric) the log of the loss is modelled from monotone hinge features of the effective
key and value errors (plus AWQ and context terms): by default as the sum of a key part, a value
part and an AWQ part, each exp-linear in its own features (`log_loss`, form "log_sum"), with
non-negative weights on every feature that the physics says can only hurt, so fewer bits never
helps in expectation. Intervals are split-conformal (cross-fitted on held-out configurations),
widened beyond the calibrated context range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
# Bins of the predicted loss added to the 16-bit one (nats) for a loss's Mondrian intervals: its
# log-space error differs by regime. In CV on the calibration runs (bench.accuracy_cv) one width
# for all covered KL 100 % below 0.05 but 65 % between 0.2 and 1, where the frontier bends, and
# answer NLL 74-76 % above 0.2; with these bins every such stretch covers 80-100 %.
LOSS_BINS = (0.1, 1.0, 10.0)
MIN_BIN_RUNS = 8
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


def features(d: Design, context_tokens: int | NDArray[np.int64]) -> tuple[F64, list[str]]:
    """Feature matrix (N × F) and names; constrained features first, free ones last."""
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(d.grid),))
    fraction = quantized_tokens(tokens, d.grid) / np.maximum(tokens, 1)
    # Error energy scales with the share of tokens held quantized (the rest is 16-bit).
    root = np.sqrt(fraction)
    kc, kn = _hinges(np.log10(d.k_error * root + ERROR_FLOOR), "k")
    vc, vn = _hinges(np.log10(d.v_error * root + ERROR_FLOOR), "v")
    cols = kc + vc + [d.w4, np.ones(len(tokens)), np.log2(tokens / 512.0)]
    return np.column_stack(cols), kn + vn + ["awq", *FREE_FEATURES]


def _target(kind: str, values: F64, baseline: F64, floor: float) -> F64:
    if kind == "accuracy":
        return baseline - values  # drop vs 16-bit
    # the loss quantization adds to the 16-bit one at the same length (KL's is 0): the model's
    # own growth with the context comes from the 16-bit anchors, not from extrapolation. Added,
    # not multiplied: a ratio learned where the 16-bit NLL is 0.001 blew up 15-50x at a length
    # where it is 0.08 (testbed, answer NLL at 1,024 tokens)
    # The floor is the loss's noise scale: a run may measure below the 16-bit one by up to ~floor
    # (the 16-bit anchor is itself one n-prompt measurement), and intervals reach down there.
    return np.log10(np.maximum(values - baseline + floor, floor / 10))


def _from_target(kind: str, baseline: F64, z: F64, floor: float) -> F64:
    """The metric's value from a (predicted) `_target`: the inverse, clipped to valid values."""
    if kind == "accuracy":
        return np.asarray(np.clip(baseline - z, 0.0, 1.0), dtype=np.float64)
    return np.asarray(np.maximum(baseline + np.power(10.0, z) - floor, 0.0), dtype=np.float64)


def _solve(x: F64, y: F64, n_free: int, slope_min: float | None = None) -> F64:
    """Least squares with non-negative weights but for the last n_free (the last of which,
    when `slope_min` is given, is the context slope and held at or above it)."""
    lower = np.r_[np.zeros(x.shape[1] - n_free), np.full(n_free, -np.inf)]
    if n_free and slope_min is not None:
        lower[-1] = slope_min
    # A tiny ridge keeps the hinge weights stable when several features are collinear.
    ridge = 1e-3 * np.eye(x.shape[1])
    ridge[-n_free:, -n_free:] = 0
    xa = np.vstack([x, ridge])
    ya = np.r_[y, np.zeros(x.shape[1])]
    return np.asarray(lsq_linear(xa, ya, bounds=(lower, np.inf)).x, dtype=np.float64)


# How the hinge features make log10 of a loss (KL vs 16-bit, or NLL added to the 16-bit one):
#   "linear": one linear sum, so K, V and AWQ damage multiply (and, for an accuracy fitted
#   without a guide, the form of its drop in plain units, where damage adds);
#   "log_sum": K, V and AWQ are separate parts, each exp-linear in its own features, whose
#   losses add (independent small perturbations add in KL). FORM is what `fit_metric` fits:
#   in config-grouped 5-fold CV on the testbed runs (`python -m bench.accuracy_cv --floors
#   fixed`) it took KL's MAE from 0.34 to 0.28 of the trivial one (Spearman 0.962 -> 0.985),
#   exact match's from 0.62 to 0.47, answer NLL's from 1.47 to 0.74; the log-linear form
#   predicted k2v16-tensor at KL 2.4 where 5.6 was measured.
FORMS = ("linear", "log_sum")
FORM = "log_sum"
# Lower bound of the context slope (dex of loss per doubling of the context). A longer context
# never makes a quantized cache help in expectation: every further token is one more quantized
# key competing in the softmax and one more quantized value in the mix. A free slope reads the
# ceiling of catastrophic configurations (KL cannot exceed ~ln |vocabulary|) as a decline and
# extrapolates it: on the 2,048-trained testbed it fitted -0.10 on passkey and predicted 2-bit
# per-tensor keys at exact match 0.07 / 0.44 / 0.68 at 256 / 512 / 1,024 tokens (measured 0.08 /
# 0.09 / 0.03). None leaves it free (`python -m bench.accuracy_cv --context-slope free`).
CONTEXT_SLOPE_MIN: float | None = 0.0


def _parts(names: list[str]) -> tuple[list[int], list[int], int, int, int]:
    k = [i for i, n in enumerate(names) if n.startswith("k_")]
    v = [i for i, n in enumerate(names) if n.startswith("v_")]
    return k, v, names.index("awq"), names.index("intercept"), names.index("log2_context")


def log_loss(x: F64, coef: Sequence[float] | F64, names: list[str], floor: float,
             form: str = "linear") -> F64:
    """The model's log10(loss + floor) for the feature rows x."""
    c = np.asarray(coef, dtype=np.float64)
    if form == "linear":
        return np.asarray(x @ c, dtype=np.float64)
    k, v, a, i0, s = _parts(names)
    ctx = x[:, s] * c[s]
    # a side whose hinge columns are all 0 holds nothing quantized and adds nothing
    total = ((x[:, k[0]] > 0) * 10.0 ** np.minimum(x[:, k] @ c[k] + c[i0] + ctx, 6.0)
             + (x[:, v[0]] > 0) * 10.0 ** np.minimum(x[:, v] @ c[v] + c[-1] + ctx, 6.0)
             + x[:, a] * 10.0 ** np.minimum(c[a] + ctx, 6.0))
    return np.asarray(np.log10(total + floor), dtype=np.float64)


def _fit_log(x: F64, t: F64, names: list[str], floor: float, form: str) -> F64:
    """Coefficients of `log_loss` for targets t = log10(loss + floor); side weights ≥ 0."""
    n_free = len(FREE_FEATURES)
    if form == "linear":
        return _solve(x, t, n_free, CONTEXT_SLOPE_MIN)
    from scipy.optimize import least_squares

    k, v, a, i0, s = _parts(names)
    n = len(names) + 1  # the last one: the V part's own intercept
    lower = np.full(n, -np.inf)
    lower[k + v] = 0.0
    if CONTEXT_SLOPE_MIN is not None:
        lower[s] = CONTEXT_SLOPE_MIN
    # the context slope is held by the ridge too: one calibrated length cannot fix it (the
    # 16-bit rows, at any length, are exactly the floor), and a free slope then runs away
    free = [a, i0, n - 1]

    def residuals(p: F64) -> F64:
        # the same tiny ridge as the linear form keeps collinear hinge weights stable
        return np.asarray(np.r_[log_loss(x, p, names, floor, form) - t,
                                np.sqrt(1e-3) * np.delete(p, free)], dtype=np.float64)

    best = None
    for start in (-1.0, -2.0, -3.0):  # non-convex: a few starting levels, best kept
        p0 = np.full(n, 0.05)
        p0[[k[0], v[0]]] = 0.3
        p0[[a, i0, n - 1]] = start
        p0[s] = 0.0 if CONTEXT_SLOPE_MIN is None else CONTEXT_SLOPE_MIN + 1e-3
        sol = least_squares(residuals, p0, bounds=(lower, np.inf), method="trf")
        if best is None or sol.cost < best.cost:
            best = sol
    assert best is not None
    return np.asarray(best.x, dtype=np.float64)


def _conformal_q(residuals: F64, coverage: float) -> float:
    n = len(residuals)
    if n == 0:
        return 0.0
    level = min(1.0, float(np.ceil((n + 1) * coverage)) / n)
    return float(np.quantile(residuals, level))


def _isotonic(z: F64, drop: F64) -> tuple[list[float], list[float]]:
    """Monotone non-decreasing drop as a function of the predicted guide (knots for np.interp).

    The conditional mean; a conditional median (pool-adjacent-violators on medians, which
    minimises the absolute error) was tried on the testbed and did no better."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(z, drop)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def _binned_q(pred: F64, residuals: F64, coverage: float,
              edges: Sequence[float] = DROP_BINS, monotone: bool = True
              ) -> list[tuple[float, float]]:
    """(upper edge, conformal half-width) per bin of the predicted value; the last edge is
    nominal (the last bin takes everything above). `monotone`: a bin is never narrower than the
    one below (an accuracy's drop: more damage is never more certain)."""
    bins: list[tuple[float, float]] = []
    lowers = [-np.inf, *edges[:-1]]
    for i, edge in enumerate(edges):
        upper = np.inf if i == len(edges) - 1 else edge
        # A sparse bin borrows the runs of the bins below it (never the tighter overall width
        # alone: few degraded runs must not make a degraded prediction look certain).
        j = i
        inside = (pred > lowers[j]) & (pred <= upper)
        while inside.sum() < MIN_BIN_RUNS and j > 0:
            j -= 1
            inside = (pred > lowers[j]) & (pred <= upper)
        q = _conformal_q(residuals[inside], coverage)
        bins.append((edge, max(q, bins[-1][1]) if bins and monotone else q))
    return bins


def error_scale(accuracy: F64, samples: int, spread: F64 | float = 0.0) -> F64:
    """The expected error of a predicted accuracy measured on `samples` prompts:
    √(p(1 − p)/n + (½/n)² + spread²). The binomial spread of the measurement, floored at half a
    prompt (a measurement moves by whole prompts; at p = 1 the binomial spread alone is zero),
    and `spread`, the model's own: how far the prediction moves when stage 1's predicted guide
    is off by its typical error (`guide_spread`); large where the drop is steep in the guide.

    Exact-match intervals are normalized conformal: a run's score is its error over this scale,
    and a half-width is the score's quantile times the scale. The sampling spread is then
    counted once (the calibration residuals hold it already) and grows where the 16-bit model
    is less sure of its answers (a longer context), as measured answers do; a steep stretch of
    the link no longer sets the width of the flat ones.
    """
    p = np.clip(accuracy, 0.0, 1.0)
    return np.asarray(np.sqrt(p * (1.0 - p) / samples + (0.5 / samples) ** 2
                              + np.asarray(spread) ** 2), dtype=np.float64)


def _drop_of_guide(z: F64, link_x: Sequence[float], link_y: Sequence[float], extra: F64,
                   base: F64, samples: int | None) -> F64:
    """Predicted drop in accuracy from stage 1's log10 guide `z` (plus the `extra` loss)."""
    loss = np.interp(z, link_x, link_y) + extra
    if samples:  # the loss is in log-odds: back to a drop in accuracy
        return np.asarray(base - accuracy_of_logit(logit_accuracy(base, samples) - loss, samples),
                          dtype=np.float64)
    return np.asarray(loss, dtype=np.float64)


def _model_spread(z: F64, tau: float, link_x: Sequence[float], link_y: Sequence[float],
                  extra: F64, base: F64, samples: int | None) -> F64:
    """Half the change of the predicted drop across z ± tau (the link is monotone)."""
    hi = _drop_of_guide(z + tau, link_x, link_y, extra, base, samples)
    lo = _drop_of_guide(z - tau, link_x, link_y, extra, base, samples)
    return np.asarray((hi - lo) / 2, dtype=np.float64)


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
    loss_floor: float | Sequence[float] = 1e-5,
    samples: int | None = None,
    widen: bool = True,
    form: str | None = None,
) -> MetricFit:
    """Fit one metric on measured runs; the interval half-width is cross-fitted conformal.

    With `guide` (a graded metric of the same runs, e.g. KL vs 16-bit) an accuracy metric is
    fitted in two stages: the features predict log10(guide), and the drop is an isotonic
    function of that prediction. Saturated metrics (exact match on small models) need this:
    most runs lose nothing, and the graded guide tells which ones will. With `samples` (the
    prompts behind each measured accuracy) intervals add the binomial spread of such a
    measurement (`with_sampling`). Several `loss_floor`s: the one with the least
    cross-validated MAE (in the metric's units) is kept.
    """
    tokens = np.asarray(context_tokens, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    # every argument but `widen`: refits (floor choice, widening) start from these
    fit_args: dict[str, Any] = dict(
        task=task, metric=metric, kind=kind, configs=list(configs), context_tokens=tokens,
        values=values, kv_error=kv_error, folds=folds, coverage=coverage, seed=seed,
        guide=None if guide is None else np.asarray(guide, dtype=np.float64),
        guide_name=guide_name, loss_floor=loss_floor, samples=samples, form=form)
    if not isinstance(loss_floor, int | float):
        floors = [float(f) for f in loss_floor]
        if not floors:
            raise ValueError(f"{task}/{metric}: no loss_floor to choose from")
        errors = [fit_metric(**(fit_args | {"loss_floor": f}), widen=False).cv_mae or 0.0
                  for f in floors]
        return fit_metric(**(fit_args | {"loss_floor": floors[int(np.argmin(errors))]}),
                          widen=widen)
    if kind not in ("accuracy", "loss"):
        raise ValueError(f"kind must be 'accuracy' or 'loss'; got {kind!r}")
    form = form or FORM
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    if kind == "accuracy" and guide is None:
        form = "linear"  # the drop itself, not a log: a sum of parts is already linear
    fit_args["form"] = form
    base_rows = [i for i, c in enumerate(configs) if c.kv.is_baseline and c.weights.bits == 16]
    if not base_rows:
        raise ValueError(f"{task}/{metric}: no 16-bit baseline run to anchor the fit")
    baseline: dict[int, float] = {}
    for t in sorted(set(tokens[base_rows].tolist())):
        baseline[int(t)] = float(np.mean(values[[i for i in base_rows if tokens[i] == t]]))
    # the calibrated range is where quantized runs were made (16-bit anchors reach further)
    quantized = sorted(set(tokens[[i for i in range(len(configs)) if i not in set(base_rows)]]
                           .tolist())) or sorted(baseline)
    floor = float(loss_floor)
    x, names = features(design(configs, kv_error), tokens)
    base = baseline_at(baseline, tokens)
    y = _target(kind, values, base, floor)
    rng = np.random.default_rng(seed)
    # folds hold out whole configurations: the same configuration at another length in the
    # training folds would make the held-out residuals (and so the intervals) too small
    ids = sorted({c.id for c in configs})
    k = max(2, min(folds, len(ids)))
    fold_of_id = dict(zip(ids, rng.permutation(len(ids)) % k, strict=True))
    fold_of = np.array([fold_of_id[c.id] for c in configs], dtype=np.int64)
    if kind == "accuracy" and guide is not None:
        fit = _fit_two_stage(
            task, metric, x, names, values, base,
            np.asarray(guide, dtype=np.float64), baseline, fold_of, coverage, floor, guide_name,
            quantized, samples, form,
        )
        return _with_widening(fit, fit_args, widen)
    held_z = np.empty(len(y))  # cross-fitted predictions of the target
    for f in np.unique(fold_of):
        train = fold_of != f
        coef = _fit_log(x[train], y[train], names, floor, form)
        held_z[~train] = log_loss(x[~train], coef, names, floor, form)
    residuals = np.abs(y - held_z)
    held = _from_target(kind, base, held_z, floor)  # ... in the metric's units
    coef = _fit_log(x, y, names, floor, form)
    fit = MetricFit(
        task=task,
        metric=metric,
        kind=kind,
        feature_names=names,
        coef=[float(c) for c in coef],
        knots={"k": KNOTS, "v": KNOTS},
        baseline=baseline,
        interval_q=_conformal_q(residuals, coverage),
        coverage=coverage,
        contexts=quantized,
        floor=floor,
        n_runs=len(residuals),
        cv_mae=float(np.mean(np.abs(values - held))),
        form=form,
        # a loss's bins are of its predicted excess over the 16-bit loss (log-space errors)
        interval_bins=(_binned_q(np.power(10.0, held_z) - floor, residuals, coverage,
                                 LOSS_BINS, monotone=False) if kind == "loss" else None),
    )
    return _with_widening(fit, fit_args, widen)


# at least some growth: one measured doubling cannot vouch for the next ones
WIDENINGS = (0.125, 0.25, 0.5, 1.0, 2.0)


def _with_widening(fit: MetricFit, args: dict[str, Any], widen: bool) -> MetricFit:
    """Set how much intervals grow per doubling of the context beyond the calibrated range,
    measured: refit without the longest calibrated context, predict it, and keep the least
    growth in `WIDENINGS` that covers it at the nominal rate (the default without such data)."""
    if not widen or len(fit.contexts) < 2:
        return fit
    longest = max(fit.contexts)
    tokens = args["context_tokens"]
    base = np.array([c.kv.is_baseline and c.weights.bits == 16 for c in args["configs"]])
    train = (tokens < longest) | base  # 16-bit anchors stay: the served case has them
    test = ~train
    if test.sum() < MIN_BIN_RUNS:
        return fit
    pick = {k: (v[train] if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    pick["configs"] = [c for c, t in zip(args["configs"], train, strict=True) if t]
    short = fit_metric(**pick, widen=False)
    d = design([c for c, t in zip(args["configs"], test, strict=True) if t], args["kv_error"])
    y = args["values"][test]
    growth = WIDENINGS[-1]
    for w in WIDENINGS:
        p = predict(short.model_copy(update={"widening": w}), d, tokens[test])
        if np.mean((p.lower <= y) & (y <= p.upper)) >= fit.coverage:
            growth = w
            break
    doublings = max(float(np.log2(longest / max(short.contexts))), 1.0)
    return fit.model_copy(update={"widening": growth / doublings})


def logit_accuracy(p: F64, samples: int) -> F64:
    """log-odds of an accuracy measured on n prompts, smoothed to (k + ½)/(n + 1) (finite)."""
    s = (np.clip(p, 0.0, 1.0) * samples + 0.5) / (samples + 1)
    return np.asarray(np.log(s / (1 - s)), dtype=np.float64)


def accuracy_of_logit(v: F64, samples: int) -> F64:
    s = 1.0 / (1.0 + np.exp(-v))
    return np.asarray(np.clip((s * (samples + 1) - 0.5) / samples, 0.0, 1.0), dtype=np.float64)


def _fit_two_stage(
    task: str,
    metric: str,
    x: F64,
    names: list[str],
    values: F64,
    base: F64,
    guide: F64,
    baseline: dict[int, float],
    fold_of: NDArray[np.int64],
    coverage: float,
    floor: float,
    guide_name: str,
    contexts: list[int],
    samples: int | None,
    form: str,
) -> MetricFit:
    """Stage 1: features → log10(guide). Stage 2: the loss vs 16-bit, isotonic in stage 1's
    prediction, plus a non-negative part on the error features that the guide misses.

    With `samples`, the loss is in log-odds (`logit_accuracy`): the same damage costs more
    answers where the 16-bit model is less sure of them (a longer context), as measured on
    the testbed, where one KL lost 0-6% of answers at 512 tokens and ~20% at 1,024.
    """
    n_free = len(FREE_FEATURES)
    g = np.log10(np.maximum(guide, 0.0) + floor)
    if samples:
        target = logit_accuracy(base, samples) - logit_accuracy(values, samples)
    else:
        target = base - values

    def stages(rows: NDArray[np.bool_]) -> tuple[F64, list[float], list[float], F64]:
        coef = _fit_log(x[rows], g[rows], names, floor, form)
        z = log_loss(x, coef, names, floor, form)
        link_x, link_y = _isotonic(z[rows], target[rows])
        # what the guide misses (a 2-bit per-tensor value cache breaks answers at a moderate
        # KL): the rest of the loss on the error hinges alone, non-negative (monotone)
        rest = target[rows] - np.interp(z[rows], link_x, link_y)
        extra = _solve(x[rows][:, :-n_free], rest, 0)
        return coef, link_x, link_y, extra

    folds = {int(f): stages(fold_of != f) for f in np.unique(fold_of)}
    z = np.empty(len(values))  # stage 1, cross-fitted
    for f, (coef, *_) in folds.items():
        z[fold_of == f] = log_loss(x[fold_of == f], coef, names, floor, form)
    # stage 1's typical error (a robust standard deviation, log10 of the guide) over the runs
    # its features call lossy (errors below the lowest knot, as the 16-bit baseline's, are not)
    lossy = (x[:, :-n_free] != 0).any(axis=1)
    tau = float(1.4826 * np.median(np.abs(g - z)[lossy])) if lossy.any() else 0.0
    pred = np.empty(len(values))
    spread = np.zeros(len(values))
    for f, (_, link_x, link_y, extra) in folds.items():
        test = fold_of == f
        more = x[test][:, :-n_free] @ extra
        pred[test] = base[test] - _drop_of_guide(z[test], link_x, link_y, more, base[test],
                                                 samples)
        spread[test] = _model_spread(z[test], tau, link_x, link_y, more, base[test], samples)
    residuals = np.abs(values - pred)
    # with `samples`, conformal scores are errors in units of the expected error
    scores = residuals / error_scale(pred, samples, spread) if samples else residuals
    coef, link_x, link_y, extra = stages(np.ones(len(values), dtype=bool))
    return MetricFit(
        task=task,
        metric=metric,
        kind="accuracy",
        feature_names=names,
        coef=[float(c) for c in coef],
        knots={"k": KNOTS, "v": KNOTS},
        baseline=baseline,
        interval_q=_conformal_q(scores, coverage),
        coverage=coverage,
        contexts=contexts,
        floor=floor,
        n_runs=len(values),
        cv_mae=float(np.mean(residuals)),
        guide=guide_name,
        form=form,
        link_x=link_x,
        link_y=link_y,
        extra_coef=[float(c) for c in extra],
        interval_bins=_binned_q(base - pred, scores, coverage),
        samples=samples,
        guide_spread=tau if samples else None,
    )


def _bin_width(bins: list[tuple[float, float]], value: F64) -> F64:
    """Each value's half-width from Mondrian bins (upper edge, width); the last takes the rest."""
    edges = np.array([e for e, _ in bins])
    qs = np.array([q for _, q in bins])
    return np.asarray(qs[np.minimum(np.searchsorted(edges, value), len(qs) - 1)],
                      dtype=np.float64)


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
        # the extra loss is on the constrained features, which come first
        more = (x[:, :len(fit.extra_coef)] @ np.asarray(fit.extra_coef) if fit.extra_coef
                else np.zeros(len(z)))
        guide_z = z
        z = _drop_of_guide(guide_z, fit.link_x, fit.link_y, more, base, fit.samples)
        # the 16-bit model loses nothing to itself: its value is the measured baseline
        lossless = (d.k_error == 0) & (d.v_error == 0) & (d.w4 == 0)
        z = np.where(lossless, 0.0, z)
        if fit.guide_spread:
            spread = np.where(lossless, 0.0, _model_spread(
                guide_z, fit.guide_spread, fit.link_x, fit.link_y, more, base, fit.samples))
        if fit.interval_bins:  # of the predicted drop
            q = _bin_width(fit.interval_bins, z) * widen
    elif fit.interval_bins:  # a loss: of its predicted excess over the 16-bit loss
        q = _bin_width(fit.interval_bins, np.power(10.0, z) - fit.floor) * widen
    if fit.kind == "accuracy" and fit.samples:  # normalized scores: back to accuracy units
        q = q * error_scale(base - z, fit.samples, spread)
    # an accuracy's target is its drop: the lower bound is the larger drop
    low, high = (z + q, z - q) if fit.kind == "accuracy" else (z - q, z + q)
    mean, lower, upper = (_from_target(fit.kind, base, v, fit.floor) for v in (z, low, high))
    if fit.weights_kl:  # the KL the 4-bit weights add to the cache's own (a measured table)
        awq = d.w4 * baseline_at(fit.weights_kl, tokens.astype(np.int64))
        mean, lower, upper = mean + awq, lower + awq, upper + awq
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

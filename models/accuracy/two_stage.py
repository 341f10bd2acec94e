"""A saturated accuracy through a graded guide: stage 1 predicts log10 of the guide (KL vs
16-bit) from the features, stage 2 maps that prediction to the drop, isotonic."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.accuracy.design import F64, FREE_FEATURES
from models.accuracy.fitted import Fitted
from models.accuracy.forms import Form, fit_log, log_loss, solve
from models.accuracy.intervals import binned_q, conformal_q
from models.accuracy.links import LOGIT_SCALE, accuracy_of_logit, logit_accuracy, logit_loss
from models.accuracy.problem import Problem


def isotonic(z: F64, drop: F64) -> tuple[list[float], list[float]]:
    """Monotone non-decreasing drop as a function of the predicted guide (knots for np.interp).

    The conditional mean; a conditional median (pool-adjacent-violators on medians, which
    minimises the absolute error) was tried on the testbed and did no better."""
    from sklearn.isotonic import IsotonicRegression  # fitting only: ~0.7 s to import

    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(z, drop)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def drop_of_guide(z: F64, link: tuple[Sequence[float], Sequence[float]], extra: F64,
                  base: F64, samples: int | None) -> F64:
    """Predicted drop in accuracy from stage 1's log10 guide `z` (plus the `extra` loss).

    Never below 0: the isotonic link's low end averages near-lossless runs whose drops are
    prompt noise of either sign, and a quantized cache is not expected to beat its 16-bit one."""
    loss = np.maximum(np.interp(z, link[0], link[1]) + extra, 0.0)
    if samples:  # the loss is in log-odds: back to a drop in accuracy
        return np.asarray(base - accuracy_of_logit(logit_accuracy(base, samples) - loss, samples),
                          dtype=np.float64)
    return np.asarray(loss, dtype=np.float64)


def model_spread(z: F64, tau: float, link: tuple[Sequence[float], Sequence[float]],
                 extra: F64, base: F64, samples: int | None) -> F64:
    """Half the change of the predicted drop across z ± tau (the link is monotone)."""
    hi = drop_of_guide(z + tau, link, extra, base, samples)
    lo = drop_of_guide(z - tau, link, extra, base, samples)
    return np.asarray((hi - lo) / 2, dtype=np.float64)


def fit_two_stage(p: Problem, guide: F64, floor: float, form: Form, slope_min: float | None,
                  coverage: float, samples: int | None) -> Fitted:
    """Stage 1: features → log10(guide). Stage 2: the loss vs 16-bit, isotonic in stage 1's
    prediction, plus a non-negative part on the error features that the guide misses.

    With `samples`, the loss is in log-odds (`logit_accuracy`): the same damage costs more
    answers where the 16-bit model is less sure of them (a longer context), as measured on
    the testbed, where one KL lost 0-6% of answers at 512 tokens and ~20% at 1,024; and the
    interval is on that loss, as wide as its prediction plus `LOGIT_SCALE` times a conformal
    quantile (`links.logit_loss_interval`): a configuration predicted to lose more is less
    certain, and a loss grown beyond the calibrated lengths grows with its widening.
    """
    x, names, values, base, fold_of = p.x, p.names, p.values, p.base, p.fold_of
    n_free = len(FREE_FEATURES)
    g = np.log10(np.maximum(guide, 0.0) + floor)
    if samples:
        loss = logit_accuracy(base, samples) - logit_accuracy(values, samples)
    else:
        loss = base - values

    def stages(rows: NDArray[np.bool_]) -> tuple[F64, tuple[list[float], list[float]], F64]:
        coef = fit_log(x[rows], g[rows], names, floor, form, slope_min)
        z = log_loss(x, coef, names, floor, form)
        link = isotonic(z[rows], loss[rows])
        # what the guide misses (a 2-bit per-tensor value cache breaks answers at a moderate
        # KL): the rest of the loss on the error hinges alone, non-negative (monotone)
        rest = loss[rows] - np.interp(z[rows], *link)
        extra = solve(x[rows][:, :-n_free], rest, 0)
        return coef, link, extra

    folds = {int(f): stages(fold_of != f) for f in np.unique(fold_of)}
    z = np.empty(len(values))  # stage 1, cross-fitted
    for f, (coef, *_) in folds.items():
        z[fold_of == f] = log_loss(x[fold_of == f], coef, names, floor, form)
    # stage 1's typical error (a robust standard deviation, log10 of the guide) over the runs
    # its features call lossy (errors below the lowest knot, as the 16-bit baseline's, are not)
    lossy = (x[:, :-n_free] != 0).any(axis=1)
    tau = float(1.4826 * np.median(np.abs(g - z)[lossy])) if lossy.any() else 0.0
    pred = np.empty(len(values))
    for f, (_, link, extra) in folds.items():
        test = fold_of == f
        more = x[test][:, :-n_free] @ extra
        pred[test] = base[test] - drop_of_guide(z[test], link, more, base[test], samples)
    residuals = np.abs(values - pred)
    scores = residuals
    if samples:  # conformal scores: the error of the log-odds loss over (its prediction + c)
        lost = logit_loss(base, values, samples)
        expected = logit_loss(base, pred, samples)
        scores = np.abs(lost - expected) / (np.maximum(expected, 0.0) + LOGIT_SCALE)
    coef, link, extra = stages(np.ones(len(values), dtype=bool))
    return Fitted(
        coef=[float(c) for c in coef],
        feature_names=names,
        baseline=p.baseline,
        baseline_spread=p.baseline_spread,
        contexts=p.contexts,
        floor=floor,
        form=form,
        interval_q=conformal_q(scores, coverage),
        cv_mae=float(np.mean(residuals)),
        n_runs=len(values),
        interval_bins=binned_q(base - pred, scores, coverage),
        link_x=link[0],
        link_y=link[1],
        extra_coef=[float(c) for c in extra],
        samples=samples,
        guide_spread=tau if samples else None,
        logit_scale=LOGIT_SCALE if samples else None,
    )

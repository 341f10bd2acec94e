"""A loss (or an accuracy without a guide) regressed directly on the error features."""

from __future__ import annotations

import numpy as np

from models.accuracy.fitted import Fitted
from models.accuracy.forms import Form, fit_log, log_loss
from models.accuracy.intervals import LOSS_BINS, binned_q, conformal_q
from models.accuracy.links import from_target, target
from models.accuracy.problem import Problem


def fit_one_stage(p: Problem, kind: str, floor: float, form: Form, slope_min: float | None,
                  coverage: float) -> Fitted:
    """Coefficients on all runs; the half-width from cross-fitted residuals of the target."""
    y = target(kind, p.values, p.base, floor)
    held_z = np.empty(len(y))  # cross-fitted predictions of the target
    for f in np.unique(p.fold_of):
        train = p.fold_of != f
        coef = fit_log(p.x[train], y[train], p.names, floor, form, slope_min)
        held_z[~train] = log_loss(p.x[~train], coef, p.names, floor, form)
    residuals = np.abs(y - held_z)
    held = from_target(kind, p.base, held_z, floor)  # ... in the metric's units
    coef = fit_log(p.x, y, p.names, floor, form, slope_min)
    return Fitted(
        coef=[float(c) for c in coef],
        feature_names=p.names,
        baseline=p.baseline,
        baseline_spread=p.baseline_spread,
        contexts=p.contexts,
        floor=floor,
        form=form,
        interval_q=conformal_q(residuals, coverage),
        cv_mae=float(np.mean(np.abs(p.values - held))),
        n_runs=len(residuals),
        # a loss's bins are of its predicted excess over the 16-bit loss (log-space errors)
        interval_bins=(binned_q(np.power(10.0, held_z) - floor, residuals, coverage,
                                LOSS_BINS, monotone=False) if kind == "loss" else None),
    )

"""How the hinge features make log10 of a loss, and the bounded solvers that fit them.

  "linear": one linear sum, so K, V and AWQ damage multiply (and, for an accuracy fitted
  without a guide, the form of its drop in plain units, where damage adds);
  "log_sum": K, V and AWQ are separate parts, each exp-linear in its own features, whose
  losses add (independent small perturbations add in KL). Weights on every feature that the
  physics says can only hurt are non-negative, so fewer bits never helps in expectation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from models.accuracy.design import F64, FREE_FEATURES

Form = Literal["linear", "log_sum"]
FORMS: tuple[Form, ...] = ("linear", "log_sum")


def solve(x: F64, y: F64, n_free: int, slope_min: float | None = None) -> F64:
    """Least squares with non-negative weights but for the last n_free (the last of which,
    when `slope_min` is given, is the context slope and held at or above it)."""
    from scipy.optimize import lsq_linear  # fitting only: predictions need no solver

    lower = np.r_[np.zeros(x.shape[1] - n_free), np.full(n_free, -np.inf)]
    if n_free and slope_min is not None:
        lower[-1] = slope_min
    # A tiny ridge keeps the hinge weights stable when several features are collinear.
    ridge = 1e-3 * np.eye(x.shape[1])
    ridge[-n_free:, -n_free:] = 0
    xa = np.vstack([x, ridge])
    ya = np.r_[y, np.zeros(x.shape[1])]
    return np.asarray(lsq_linear(xa, ya, bounds=(lower, np.inf)).x, dtype=np.float64)


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


def fit_log(x: F64, t: F64, names: list[str], floor: float, form: str,
            slope_min: float | None) -> F64:
    """Coefficients of `log_loss` for targets t = log10(loss + floor); side weights ≥ 0 and
    the context slope ≥ `slope_min` (None: free)."""
    from scipy.optimize import least_squares

    n_free = len(FREE_FEATURES)
    if form == "linear":
        return solve(x, t, n_free, slope_min)
    k, v, a, i0, s = _parts(names)
    n = len(names) + 1  # the last one: the V part's own intercept
    lower = np.full(n, -np.inf)
    lower[k + v] = 0.0
    if slope_min is not None:
        lower[s] = slope_min
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
        p0[s] = 0.0 if slope_min is None else slope_min + 1e-3
        sol = least_squares(residuals, p0, bounds=(lower, np.inf), method="trf")
        if best is None or sol.cost < best.cost:
            best = sol
    assert best is not None
    return np.asarray(best.x, dtype=np.float64)

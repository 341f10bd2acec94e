"""The accuracy model: task metrics predicted from the measured K/V quantization error.

Per (task, metric) the log of the loss is modelled from monotone hinge features of the
effective key and value errors (plus AWQ and context terms): by default as the sum of a key
part, a value part and an AWQ part, each exp-linear in its own features (`forms`), with
non-negative weights on every feature that the physics says can only hurt, so fewer bits never
helps in expectation. A saturated accuracy goes through a graded guide (`two_stage`). Intervals
are split-conformal, cross-fitted on held-out configurations (`intervals`), widened beyond the
calibrated context range by a measured growth. `MetricModel` is the estimator; `predict` serves
an artifact's `MetricFit`.
"""

from models.accuracy.design import ERROR_FLOOR, FREE_FEATURES, KNOTS, Design, design, features
from models.accuracy.estimator import KINDS, MetricModel, Target
from models.accuracy.forms import FORMS, Form, log_loss
from models.accuracy.intervals import DROP_BINS, LOSS_BINS, MIN_BIN_RUNS, WIDENINGS
from models.accuracy.links import (
    accuracy_of_logit,
    baseline_at,
    error_scale,
    logit_accuracy,
)
from models.accuracy.prediction import Prediction, metric_fit, predict
from models.accuracy.scope import in_scope, scope_rows

__all__ = [
    "DROP_BINS", "ERROR_FLOOR", "FORMS", "FREE_FEATURES", "KINDS", "KNOTS", "LOSS_BINS",
    "MIN_BIN_RUNS", "WIDENINGS", "Design", "Form", "MetricModel", "Prediction", "Target",
    "accuracy_of_logit", "baseline_at", "design", "error_scale", "features", "in_scope",
    "log_loss", "logit_accuracy", "metric_fit", "predict", "scope_rows",
]

"""Accuracy harness: exact match, fidelity to the 16-bit cache, answer NLL, K/V error per scheme.

Public: `evaluate`, `evaluate_many`, `EvalResult`, `wilson_interval`.
"""

from calibration.harness.evaluate import EvalResult, evaluate, evaluate_many, weights_kl
from calibration.harness.stats import wilson_interval

__all__ = ["EvalResult", "evaluate", "evaluate_many", "weights_kl", "wilson_interval"]

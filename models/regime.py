"""Whether the 16-bit model itself changes between the calibrated lengths and a requested one.

Beyond its quantized calibration runs an accuracy model extrapolates: it assumes the damage a
configuration does grows as it did between the calibrated lengths. The 16-bit anchors (one run
per longer length) show when the model is no longer the same model there: a testbed trained on
rows of at most 1,024 tokens had its 16-bit answer NLL rise ~100x from 512 to 1,024 (the end of
its curriculum), and the KL of quantized passkey runs grew x1.42 there where 256 -> 512 moved it
x0.9. The calibration cannot see such a change, so the answer says so instead of trusting the
widened intervals.
"""

from __future__ import annotations

import numpy as np

from models.accuracy import baseline_at
from models.artifact import MetricFit

SHIFT_FACTOR = 3.0  # a change of the 16-bit loss by more than this factor is reported
SHIFT_METRIC = "answer_nll"


def baseline_shift(fits: dict[str, MetricFit], context_tokens: int) -> str | None:
    """A sentence when the 16-bit answer NLL at `context_tokens` differs from its value at the
    nearest calibrated length by more than SHIFT_FACTOR (and by more than the fit's noise
    floor); None inside the calibrated range, without an NLL model, or without such a change."""
    fit = fits.get(SHIFT_METRIC)
    if fit is None or not fit.contexts:
        return None
    lo, hi = min(fit.contexts), max(fit.contexts)
    if lo <= context_tokens <= hi:
        return None
    edge = hi if context_tokens > hi else lo
    # beyond the last 16-bit anchor the table is clamped: name the length it was measured at
    at = min(max(context_tokens, min(fit.baseline)), max(fit.baseline))
    here, there = (float(v) for v in baseline_at(fit.baseline, np.array([at, edge])))
    small, large = sorted((here, there))
    if large - small <= fit.floor or large <= SHIFT_FACTOR * max(small, 1e-12):
        return None
    return (f"the 16-bit model itself changes beyond the calibrated lengths: its answer NLL on "
            f"{fit.task} is {here:.3g} at {at} tokens vs {there:.3g} at {edge}; "
            "the extrapolated intervals assume the calibrated lengths' behaviour and may be "
            "too narrow here")


def longest_anchor(fits: dict[str, MetricFit]) -> int | None:
    """The longest context at which every metric of a task has its 16-bit value measured."""
    return min((max(f.baseline) for f in fits.values()), default=None)


def unmeasured(fits: dict[str, MetricFit], context_tokens: int,
               max_positions: int = 0) -> str | None:
    """Why no accuracy can be given at `context_tokens`, or None: past the longest 16-bit anchor
    the 16-bit model was never measured (carrying the last anchor flat claimed 0.91-1.00 at 4,096
    tokens where the testbed models measure 0.00-0.50), and past `max_position_embeddings` the
    model was never trained."""
    task = next(iter(fits.values())).task if fits else "this task"
    if max_positions and context_tokens > max_positions:
        return (f"{context_tokens:,} tokens is past the model's max_position_embeddings "
                f"({max_positions:,}): accuracy there is unknown")
    longest = longest_anchor(fits)
    if longest is not None and context_tokens > longest:
        return (f"accuracy unknown on {task} past {longest:,} tokens, the longest length at "
                "which the 16-bit model was measured (calibrate with a longer --anchor-contexts)")
    return None

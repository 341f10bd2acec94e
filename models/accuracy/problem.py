"""One fit's inputs, prepared once: features, the 16-bit anchors and the cross-fitting folds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.accuracy.design import F64, design, features
from models.accuracy.links import baseline_at
from models.space import Config


@dataclass(frozen=True)
class Runs:
    """Measured runs of one metric: configuration, context and value per row (plus the graded
    guide metric of the same runs for a two-stage accuracy)."""

    configs: list[Config]
    tokens: NDArray[np.int64]
    values: F64
    kv_error: dict[str, float]
    guide: F64 | None = None
    seeds: NDArray[np.int64] | None = None  # each run's prompt seed (None: one prompt set)

    @classmethod
    def of(cls, configs: Sequence[Config], context_tokens: Sequence[int] | NDArray[np.int64],
           values: Sequence[float] | F64, kv_error: dict[str, float],
           guide: Sequence[float] | F64 | None = None,
           seeds: Sequence[int] | NDArray[np.int64] | None = None) -> Runs:
        return cls(list(configs), np.asarray(context_tokens, dtype=np.int64),
                   np.asarray(values, dtype=np.float64), kv_error,
                   None if guide is None else np.asarray(guide, dtype=np.float64),
                   None if seeds is None else np.asarray(seeds, dtype=np.int64))

    def subset(self, rows: NDArray[np.bool_]) -> Runs:
        return Runs([c for c, r in zip(self.configs, rows, strict=True) if r], self.tokens[rows],
                    self.values[rows], self.kv_error,
                    None if self.guide is None else self.guide[rows],
                    None if self.seeds is None else self.seeds[rows])

    @property
    def baseline_rows(self) -> NDArray[np.bool_]:
        """Rows of the 16-bit model (cache and weights): the anchors."""
        return np.array([c.kv.is_baseline and c.weights.bits == 16 for c in self.configs],
                        dtype=bool)


@dataclass(frozen=True)
class Problem:
    """The arrays a fit works on: features, values, the 16-bit value at each row's context
    (on the row's own prompts where measured), the anchors per context (median over prompt sets)
    and their spread, the calibrated contexts and each row's fold."""

    x: F64
    names: list[str]
    values: F64
    base: F64
    baseline: dict[int, float]
    contexts: list[int]
    fold_of: NDArray[np.int64]
    baseline_spread: dict[int, float] | None = None
    guide: F64 | None = None  # the runs' guide metric, row for row


def anchor_sets(seeds: ArrayLike, tokens: ArrayLike, values: ArrayLike
                ) -> tuple[dict[tuple[int, int], float], dict[int, list[float]]]:
    """16-bit runs → their value per (prompt seed, context), the mean of repeats, and per
    context the values of the prompt sets measured."""
    s, t, v = (np.asarray(a) for a in (seeds, tokens, values))
    paired = {(int(a), int(b)): float(np.mean(v[(s == a) & (t == b)]))
              for a, b in sorted({(int(a), int(b)) for a, b in zip(s, t, strict=True)})}
    by_seed: dict[int, list[float]] = {}
    for (_, context), value in paired.items():
        by_seed.setdefault(context, []).append(value)
    return paired, by_seed


def anchors(by_seed: dict[int, list[float]]) -> dict[int, float]:
    """The anchor per context: the median over prompt sets (an accuracy at its ceiling and an
    NLL with a few failed prompts are skewed between sets: the median is the point of least
    expected absolute error; their spread, `anchor_spread`, goes to the intervals)."""
    return {t: float(np.median(vs)) for t, vs in sorted(by_seed.items())}


def anchor_spread(by_seed: dict[int, list[float]], coverage: float,
                  samples: int | None = None) -> dict[int, float]:
    """Per context, the half-width at `coverage` of a new prompt set's 16-bit value around the
    anchor: t(k − 1) · sd · √(1 + 1/k) over k ≥ 2 measured sets, sd between them (a Student-t
    prediction interval: with two or three sets the sd itself is uncertain). For an accuracy
    scored on `samples` prompts, never less than a new set moves by its binomial noise alone,
    z · √(p(1 − p)/n) · √(1 + 1/k): sets that happen to agree (or one set) say nothing smaller."""
    from scipy.stats import t as student  # fitting only

    out: dict[int, float] = {}
    for context, values in sorted(by_seed.items()):
        k = len(values)
        half = 0.0
        if k >= 2:
            sd = float(np.std(values, ddof=1))
            half = float(student.ppf(0.5 + coverage / 2, k - 1) * sd * np.sqrt(1 + 1 / k))
        if samples:
            p = float(np.clip(np.median(values), 0.0, 1.0))
            noise = float(np.sqrt(p * (1 - p) / samples) * np.sqrt(1 + 1 / k))
            half = max(half, NormalDist().inv_cdf(0.5 + coverage / 2) * noise)
        if k >= 2 or samples:
            out[context] = half
    return out


def problem(runs: Runs, folds: int, seed: int, where: str, coverage: float = 0.9,
            samples: int | None = None) -> Problem:
    configs, tokens, values = runs.configs, runs.tokens, runs.values
    seeds = runs.seeds if runs.seeds is not None else np.zeros(len(values), dtype=np.int64)
    base_rows = [i for i, b in enumerate(runs.baseline_rows) if b]
    if not base_rows:
        raise ValueError(f"{where}: no 16-bit baseline run to anchor the fit")
    paired, by_seed = anchor_sets(seeds[base_rows], tokens[base_rows], values[base_rows])
    baseline = anchors(by_seed)
    # the 16-bit runs of prompt sets no quantized run used are anchors only: as rows of the
    # regression they would be easy points that narrow its conformal intervals
    own = np.isin(seeds, seeds[~runs.baseline_rows])
    if not own.all() and (~runs.baseline_rows).any():
        runs, seeds = runs.subset(own), seeds[own]
        configs, tokens, values = runs.configs, runs.tokens, runs.values
        base_rows = [i for i, b in enumerate(runs.baseline_rows) if b]
    # a run's drop is against the 16-bit model on its own prompts where that was measured
    base = baseline_at(baseline, tokens)
    for i in range(len(values)):
        base[i] = paired.get((int(seeds[i]), int(tokens[i])), base[i])
    # the calibrated range is where quantized runs were made (16-bit anchors reach further)
    quantized = sorted(set(tokens[[i for i in range(len(configs)) if i not in set(base_rows)]]
                           .tolist())) or sorted(baseline)
    x, names = features(design(configs, runs.kv_error), tokens)
    rng = np.random.default_rng(seed)
    # folds hold out whole configurations: the same configuration at another length in the
    # training folds would make the held-out residuals (and so the intervals) too small
    ids = sorted({c.id for c in configs})
    k = max(2, min(folds, len(ids)))
    fold_of_id = dict(zip(ids, rng.permutation(len(ids)) % k, strict=True))
    fold_of = np.array([fold_of_id[c.id] for c in configs], dtype=np.int64)
    return Problem(x, names, values, base, baseline, quantized, fold_of,
                   anchor_spread(by_seed, coverage, samples) or None, runs.guide)

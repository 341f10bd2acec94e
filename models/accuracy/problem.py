"""One fit's inputs, prepared once: features, the 16-bit anchors and the cross-fitting folds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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

    @classmethod
    def of(cls, configs: Sequence[Config], context_tokens: Sequence[int] | NDArray[np.int64],
           values: Sequence[float] | F64, kv_error: dict[str, float],
           guide: Sequence[float] | F64 | None = None) -> Runs:
        return cls(list(configs), np.asarray(context_tokens, dtype=np.int64),
                   np.asarray(values, dtype=np.float64), kv_error,
                   None if guide is None else np.asarray(guide, dtype=np.float64))

    def subset(self, rows: NDArray[np.bool_]) -> Runs:
        return Runs([c for c, r in zip(self.configs, rows, strict=True) if r], self.tokens[rows],
                    self.values[rows], self.kv_error,
                    None if self.guide is None else self.guide[rows])

    @property
    def baseline_rows(self) -> NDArray[np.bool_]:
        """Rows of the 16-bit model (cache and weights): the anchors."""
        return np.array([c.kv.is_baseline and c.weights.bits == 16 for c in self.configs],
                        dtype=bool)


@dataclass(frozen=True)
class Problem:
    """The arrays a fit works on: features, values, the 16-bit value at each row's context,
    the anchors per context, the calibrated contexts and each row's fold."""

    x: F64
    names: list[str]
    values: F64
    base: F64
    baseline: dict[int, float]
    contexts: list[int]
    fold_of: NDArray[np.int64]


def problem(runs: Runs, folds: int, seed: int, where: str) -> Problem:
    configs, tokens, values = runs.configs, runs.tokens, runs.values
    base_rows = [i for i, b in enumerate(runs.baseline_rows) if b]
    if not base_rows:
        raise ValueError(f"{where}: no 16-bit baseline run to anchor the fit")
    baseline: dict[int, float] = {}
    for t in sorted(set(tokens[base_rows].tolist())):
        baseline[int(t)] = float(np.mean(values[[i for i in base_rows if tokens[i] == t]]))
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
    return Problem(x, names, values, baseline_at(baseline, tokens), baseline, quantized, fold_of)

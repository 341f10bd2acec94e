"""Per-model configuration grids as columns, built once per process and shared by requests.

A `ModelGrid` is every configuration of `models.space.full_grid()` that applies to the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from models.memory import GridArrays, compatible, grid_arrays, weight_bytes_grid
from models.space import BASELINE, Config, full_grid
from models.specs import ArchSpec, load_spec

WEIGHT_IDS = ("w16", "w4", "w4g64", "w4g32")
Mask = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ModelGrid:
    """The configurations of one model and their columns (N rows, fixed order)."""

    spec: ArchSpec
    configs: tuple[Config, ...]
    ids: tuple[str, ...]
    arrays: GridArrays
    weight_code: NDArray[np.int64]  # index into WEIGHT_IDS
    baseline_row: int
    rows: dict[str, int]  # config id → row
    weight_bytes: NDArray[np.int64]  # exact, context-free

    def __len__(self) -> int:
        return len(self.configs)

    def mask(
        self,
        weights: Sequence[str] | None = None,
        k_bits: Sequence[int] | None = None,
        v_bits: Sequence[int] | None = None,
    ) -> Mask:
        """Rows allowed by the filters (None = no filter on that knob)."""
        keep = np.ones(len(self), dtype=bool)
        if weights is not None:
            codes = [WEIGHT_IDS.index(w) for w in weights]
            keep &= np.isin(self.weight_code, codes)
        if k_bits is not None:
            keep &= np.isin(self.arrays.k_bits, list(k_bits))
        if v_bits is not None:
            keep &= np.isin(self.arrays.v_bits, list(v_bits))
        return keep


def build_grid(spec: ArchSpec, configs: Sequence[Config]) -> ModelGrid:
    configs = tuple(compatible(spec, list(configs)))
    ids = tuple(c.id for c in configs)
    if BASELINE not in configs:
        configs, ids = (*configs, BASELINE), (*ids, BASELINE.id)
    arrays = grid_arrays(configs)
    return ModelGrid(
        spec=spec,
        configs=configs,
        ids=ids,
        arrays=arrays,
        weight_bytes=weight_bytes_grid(spec, arrays),
        weight_code=np.array([WEIGHT_IDS.index(c.weights.id) for c in configs], dtype=np.int64),
        baseline_row=ids.index(BASELINE.id),
        rows={cid: i for i, cid in enumerate(ids)},
    )


@cache
def model_grid(name: str) -> ModelGrid:
    """The full grid of a registered model (cached for the life of the process)."""
    return build_grid(load_spec(name), full_grid())

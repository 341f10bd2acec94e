"""The peak's upper bound: measured ≤ bound for the stated share of runs, carried to the grid."""

import numpy as np
import pytest

from models.memory import GridLedger, MemoryCoefficients, grid_arrays
from models.memory.fit import bound_factor
from models.space import parse_config
from models.specs import load_spec


def test_the_bound_covers_the_stated_share_of_measured_peaks():
    rng = np.random.default_rng(0)
    residuals = rng.normal(0, 0.02, 400)  # (predicted − measured) / measured
    f = bound_factor(residuals, 0.95)
    covered = np.mean(1.0 / (1.0 + residuals) <= f)
    assert 0.95 <= covered <= 0.97
    assert 1.02 < f < 1.06


def test_a_fit_that_over_predicts_everywhere_needs_no_margin():
    assert bound_factor([0.01, 0.02, 0.05]) == 1.0
    assert bound_factor([]) == 1.0


def test_the_grid_judges_fitting_by_the_bound():
    spec = load_spec("Llama-3.1-8B-Instruct")
    grid = grid_arrays([parse_config("w4-k4v2-block64-ks-r0-c256")])
    at = GridLedger(spec, grid, MemoryCoefficients(bound_factor=1.05)).at(32768)
    assert at.peak_bound[0] == pytest.approx(1.05 * at.peak[0], abs=1)
    assert GridLedger(spec, grid).at(32768).peak_bound[0] == at.peak[0]


def test_the_bound_also_holds_for_chunk_settings_the_fit_never_saw():
    from models.memory import MemoryFitter

    spec = load_spec("Qwen2.5-0.5B-Instruct")
    rng = np.random.default_rng(1)
    ids = [f"w16-k{b}v{b}-token-r0-c{c}" for b in (8, 4, 2) for c in (64, 128, 256)]
    configs = [parse_config(i) for i in ids for _ in range(4)]
    contexts = [int(x) for x in rng.choice([256, 320, 384, 448, 512], len(configs))]
    truth = GridLedger(spec, grid_arrays(configs)).at(np.array(contexts)).peak
    # chunk 256 costs 3 % more than the others: only a fit that never saw it misses that
    peaks = [int(p * (1.03 if c.chunk == 256 else 1.0) * rng.normal(1, 0.002)) + 50_000_000
             for p, c in zip(truth, configs, strict=True)]
    fitter = MemoryFitter(spec, starts=2).fit(configs, contexts, peaks)
    assert len(fitter.chunk_residuals_) == len(configs)
    assert np.isfinite(fitter.chunk_residuals_).all()
    record = fitter.to_fit("test")
    assert record.bound_factor == max(bound_factor(fitter.residuals_),
                                      bound_factor(fitter.chunk_residuals_))
    alone = MemoryFitter(spec, starts=2).fit(configs, contexts, peaks, cross_validate=False)
    assert len(alone.chunk_residuals_) == 0

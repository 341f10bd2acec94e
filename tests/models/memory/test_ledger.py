"""The ledger: every grid configuration, exact terms marked, the peak as the max of
phases, classes = rows."""

import numpy as np
import pytest

from models.memory import (
    PHASES,
    TRANSIENT_TERMS,
    GridLedger,
    MemoryCoefficients,
    compatible,
    grid_arrays,
    ledger,
    ledger_grid,
)
from models.space import Config, enumerate_grid, full_grid, parse_config
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")


def test_every_grid_configuration_has_a_ledger():
    grid = compatible(LLAMA, full_grid())
    led = ledger_grid(LLAMA, grid_arrays(grid), 32768)
    assert (led.peak > led.weights).all()
    assert len(grid) == len(full_grid())  # head_dim 128: every block group applies


def test_ledger_rejects_nonpositive_context():
    with pytest.raises(ValueError, match="positive"):
        ledger(LLAMA, Config(), 0)


def test_ledger_marks_exact_terms():
    led = ledger(LLAMA, parse_config("w4-k4v4-token-r0-c256"), 1000)
    assert led.exact["weights"]
    assert led.exact["kv_cache"]
    assert not led.exact["transient.hidden"]
    assert led.peak_bytes == (led.terms["weights"] + led.terms["kv_cache"] + led.transient_peak
                              + led.terms["runtime_overhead"])
    assert led.dominant_phase in PHASES
    live = sum(v for k, v in led.terms.items() if k.startswith("transient."))
    assert led.transient_peak == live == max(led.phases.values())


def test_grid_peak_uses_the_max_of_phases():
    grid = compatible(LLAMA, enumerate_grid())[::5]
    coef = MemoryCoefficients({t: 1.0 + i for i, t in enumerate(TRANSIENT_TERMS)}, 12345)
    led = ledger_grid(LLAMA, grid_arrays(grid), 9000, coef)
    total = sum(sum(terms.values()) for terms in led.phases.values())
    assert (led.transient_total < total).all()
    assert (led.peak == led.weights + led.kv_cache + led.transient_total + 12345).all()
    for i in range(0, len(grid), 11):
        assert ledger(LLAMA, grid[i], 9000, coef).peak_bytes == led.peak[i]


@pytest.mark.parametrize("tokens", [100, 1000, 100_000])
def test_peak_by_class_equals_the_peak_by_row(tokens):
    """One context: the peak is made once per class of rows alike to every transient term."""
    rng = np.random.default_rng(0)
    coef = MemoryCoefficients({f"{p}.{t}": float(rng.uniform(0, 5)) for p, ts in PHASES.items()
                               for t in ts if t != "const"})
    g = grid_arrays(compatible(LLAMA, full_grid()))
    led = GridLedger(LLAMA, g, coef)
    by_class = led.transient_peak(tokens)
    by_row = led.transient_peak(np.full(len(g), tokens))
    assert len(led._cache["classes"][0]) < len(g) // 5
    np.testing.assert_array_equal(by_class, by_row)

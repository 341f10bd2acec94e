"""bench.runtime_holdout on the committed held-out eager probes and the shipped artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.runtime_holdout import errors

DB = Path(__file__).resolve().parents[2] / "runs" / "testbed-eager-holdout.db"


@pytest.mark.skipif(not DB.is_file(), reason="runs/testbed-eager-holdout.db is not here")
def test_a_runtime_is_predicted_by_its_own_fit():
    e = errors(f"sqlite:///{DB}", "testbed-llama", "hf-eager-generate")
    fit, first, ignored = (e[k] for k in e)
    assert fit["n"] >= 20
    assert fit["median"] < 0.02
    assert fit["covered"] >= 0.95
    assert fit["median"] < first["median"] < ignored["median"]
    assert ignored["bias"] < -0.3  # the SDPA fit misses eager's score matrix

"""The transient terms registry: every term in a phase, coefficient keys accepted and
refused, per-phase overrides."""

import pytest

from models.memory import (
    PHASES,
    TRANSIENT_TERMS,
    GridLedger,
    MemoryCoefficients,
    coefficient_key_error,
    grid_arrays,
)
from models.space import parse_config
from models.specs import load_spec

LLAMA = load_spec("Llama-3.1-8B-Instruct")


def test_every_term_is_in_a_phase():
    assert {t for terms in PHASES.values() for t in terms} == set(TRANSIENT_TERMS)


def test_per_phase_coefficient_overrides_the_shared_one():
    cid = parse_config("w16-k16v16-c256")
    base = MemoryCoefficients({"hidden": 1.0})
    mlp_only = MemoryCoefficients({"hidden": 1.0, "mlp.hidden": 5.0})
    a = GridLedger(LLAMA, grid_arrays([cid]), base).phase_bytes(4096)
    b = GridLedger(LLAMA, grid_arrays([cid]), mlp_only).phase_bytes(4096)
    assert b["mlp"]["hidden"][0] == 5 * a["mlp"]["hidden"][0]
    assert b["attention"]["hidden"][0] == a["attention"]["hidden"][0]


@pytest.mark.parametrize("key", ["hidden", "attention.kv_repeat", "mlp.const"])
def test_coefficient_keys_accepted(key):
    assert coefficient_key_error(key) is None


@pytest.mark.parametrize("key", ["bogus", "mlp.kv_repeat", "nophase.hidden"])
def test_coefficient_keys_refused_name_what_is_allowed(key):
    why = coefficient_key_error(key)
    assert why is not None
    assert "attention:" in why
    assert key in why

"""The sampler: valid stratified initial design, maximin filling, frontier-driven picks."""

import numpy as np
import pytest

from calibration.sampler import (
    CALIBRATION_PAIRS,
    ActiveSampler,
    _stratum,
    exhaustive,
    fill,
    gran_name,
    initial_design,
    pool,
)
from models.accuracy import side_key
from models.space import BASELINE, STUDY_KV_PAIRS, Config, parse_config
from models.specs import load_spec

SPEC = load_spec("Qwen2.5-0.5B-Instruct")  # head_dim 64: block128 does not apply


@pytest.fixture(scope="module")
def configs():
    return pool(SPEC)


def test_pool_holds_only_applicable_configurations(configs):
    assert not any(gran_name(c.kv) == "block128" for c in configs)
    assert BASELINE in configs
    assert all(parse_config(c.id) == c for c in configs[::37])


@pytest.mark.parametrize("n", [10, 40])
def test_initial_design_is_distinct_stratified_and_anchored(configs, n):
    design = initial_design(configs, [256, 512], n, seed=3)
    assert len(design) == len(set(design)) >= n
    assert {(BASELINE, 256), (BASELINE, 512)} <= set(design)
    pairs = {(c.kv.k_bits, c.kv.v_bits) for c, _ in design}
    assert pairs == set(CALIBRATION_PAIRS) > set(STUDY_KV_PAIRS)
    # every quantized side also appears beside a partner of other bits
    sides = {_stratum(c, "k_side") for c, _ in design} - {None}
    assert {"k2-tensor", "k2-tensor-ks", "k2-channel"} <= sides
    grans = {gran_name(c.kv) for c, _ in design if not c.kv.is_baseline}
    assert grans == {"tensor", "token", "block32", "block64", "channel"}
    assert design == initial_design(configs, [256, 512], n, seed=3)  # seeded


def test_fill_spreads_new_points_away_from_the_chosen(configs):
    chosen = [(configs[0], 256)]
    more = fill(configs, [256], chosen, 5)
    assert len(set(more)) == 5 and chosen[0] not in more


def test_exhaustive_is_every_candidate(configs):
    assert len(exhaustive(configs, [128, 256])) == 2 * len(configs)


def _synthetic_accuracy(c: Config, table: dict[str, float]) -> float:
    err = sum(table.get(k, 0.0) for k in (side_key("k", c.kv), side_key("v", c.kv)) if k)
    return float(np.clip(1.0 - 2.0 * err, 0, 1))


def test_active_picks_improve_the_frontier(configs):
    rng = np.random.default_rng(0)
    table = {}
    for c in configs:
        for side in ("k", "v"):
            key = side_key(side, c.kv)
            if key:
                bits = int(key[1])
                table.setdefault(key, 0.5 / 4 ** (bits / 2) * (1 + rng.random()))
    seen = initial_design(configs, [512], 30, seed=0)
    acc = [_synthetic_accuracy(c, table) for c, _ in seen]
    sampler = ActiveSampler(SPEC, table).fit([c for c, _ in seen], [L for _, L in seen], acc)
    rest = [cand for cand in exhaustive(configs, [512]) if cand not in seen]
    picks = sampler.select(rest, 5)
    assert 1 <= len(picks) <= 5 and len(set(picks)) == len(picks)
    assert not set(picks) & set(seen)
    gains, _ = sampler._gains(rest, sampler.measured_)
    assert gains[rest.index(picks[0])] == pytest.approx(gains.max())

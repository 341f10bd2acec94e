"""The sampler: valid stratified initial design, maximin filling, frontier-driven picks."""

import numpy as np
import pytest

from calibration.sampler import (
    CALIBRATION_PAIRS,
    ActiveSampler,
    _stratum,
    encode,
    exhaustive,
    fill,
    initial_design,
    pool,
)
from models.frontier import hypervolume
from models.memory import grid_arrays, ledger_grid
from models.space import BASELINE, STUDY_KV_PAIRS, Config, parse_config
from models.specs import load_spec

SPEC = load_spec("Qwen2.5-0.5B-Instruct")  # head_dim 64: block128 does not apply


@pytest.fixture(scope="module")
def configs():
    return pool(SPEC)


def test_pool_holds_only_applicable_configurations(configs):
    assert not any(c.kv.label == "block128" for c in configs)
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
    grans = {c.kv.label for c, _ in design if not c.kv.is_baseline}
    assert grans == {"tensor", "token", "block32", "block64", "channel"}
    assert design == initial_design(configs, [256, 512], n, seed=3)  # seeded


def _min_spacing(configs, picks):
    x = encode(configs)
    index = {c: i for i, c in enumerate(configs)}
    pts = x[[index[c] for c, _ in picks]]
    d = np.square(pts[:, None, :] - pts[None, :, :]).sum(-1)
    return float(d[~np.eye(len(pts), dtype=bool)].min())


def test_fill_spreads_new_points_farther_apart_than_random_picks(configs):
    chosen = [(configs[0], 256)]
    more = fill(configs, [256], chosen, 8)
    assert len(set(more)) == 8 and chosen[0] not in more
    rng = np.random.default_rng(1)
    spread = _min_spacing(configs, chosen + more)
    randoms = [_min_spacing(configs, [(configs[int(i)], 256) for i in
                                      rng.choice(len(configs), 9, replace=False)])
               for _ in range(50)]
    assert spread > max(randoms)  # maximin beats the best of 50 random draws of the same size


def test_exhaustive_is_every_candidate(configs):
    assert len(exhaustive(configs, [128, 256])) == 2 * len(configs)


def _synthetic_accuracy(c: Config, table: dict[str, float]) -> float:
    err = sum(table.get(k, 0.0) for k in c.kv.side_keys())
    return float(np.clip(1.0 - 2.0 * err, 0, 1))


def _synthetic_table(configs, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    table: dict[str, float] = {}
    for c in configs:
        for side in ("k", "v"):
            key = c.kv.side_key(side)
            if key:
                table.setdefault(key, 0.5 / 4 ** (int(key[1]) / 2) * (1 + rng.random()))
    return table


def _true_hypervolume(runs, table) -> float:
    """Hypervolume of the measured set under the true (synthetic) accuracy and the ledger."""
    cs = [c for c, _ in runs]
    mem = ledger_grid(SPEC, grid_arrays(cs), 512).peak.astype(float)
    acc = np.array([_synthetic_accuracy(c, table) for c in cs])
    return hypervolume(mem, acc, (float(mem.max()) * 1.05, -1e-9))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_active_picks_gain_more_hypervolume_than_random_picks(configs, seed):
    """The promise: k frontier-driven picks beat k random picks of the rest, seed after seed."""
    table = _synthetic_table(configs, seed)
    seen = initial_design(configs, [512], 30, seed=seed)
    acc = [_synthetic_accuracy(c, table) for c, _ in seen]
    sampler = ActiveSampler(SPEC, table).fit([c for c, _ in seen], [L for _, L in seen], acc)
    rest = [cand for cand in exhaustive(configs, [512]) if cand not in seen]
    k = 6
    picks = sampler.select(rest, k)
    assert 1 <= len(picks) <= k and len(set(picks)) == len(picks)
    assert not set(picks) & set(seen)
    base = _true_hypervolume(seen, table)
    active = _true_hypervolume(seen + picks, table) - base
    rng = np.random.default_rng(100 + seed)
    random_gains = [
        _true_hypervolume(seen + [rest[int(i)] for i in rng.choice(len(rest), len(picks),
                                                                  replace=False)], table) - base
        for _ in range(30)
    ]
    assert active > max(random_gains)  # the best of 30 random draws of the same count

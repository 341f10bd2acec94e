"""Configuration space: canonical ids, validation messages, the grid."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.space import (
    BLOCK_GROUPS,
    Config,
    KVScheme,
    Weights,
    enumerate_grid,
    full_grid,
    parse_config,
)


@st.composite
def configs(draw):
    k = draw(st.sampled_from([16, 8, 4, 2]))
    v = draw(st.sampled_from([16, 8, 4, 2]))
    if (k, v) == (16, 16):
        kv = KVScheme()
    else:
        gran = draw(st.sampled_from(["tensor", "token", "block", "channel"]))
        group = draw(st.sampled_from(BLOCK_GROUPS)) if gran == "block" else None
        ks = draw(st.booleans()) and k < 16
        kv = KVScheme(k, v, gran, group, ks, draw(st.sampled_from([0, 32, 128])))
    w = draw(st.sampled_from([Weights(16), Weights(4, 128), Weights(4, 64), Weights(4, 32)]))
    chunk = draw(st.one_of(st.none(), st.integers(64, 4096)))
    return Config(w, kv, chunk)


@given(configs())
def test_id_round_trip(config):
    assert parse_config(config.id) == config
    assert parse_config(config.id).id == config.id


def test_example_id():
    c = parse_config("w4-k4v2-block64-ks-r0-c256")
    assert c == Config(Weights(4, 128), KVScheme(4, 2, "block", 64, True, 0), 256)
    assert parse_config("w16-k16v16-cfull") == Config()


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("w8-k4v4-token-r0-c256", "malformed"),
        ("w4-k3v4-token-r0-c256", "K bits must be one of 16, 8, 4, 2"),
        ("w4-k4v4-block48-r0-c256", "block group size must be one of 32, 64, 128"),
        ("w4-k4v4-token-r64-c256", "residual window must be one of 0, 32, 128"),
        ("w4-k4v4-token-r0-c8", "prefill chunk must be an integer in 64..4096"),
        ("w4g16-k4v4-token-r0-c256", "AWQ group size must be one of 128, 64, 32"),
        ("w4g128-k4v4-token-r0-c256", "non-canonical"),
        ("w16-k16v4-token-ks-r0-cfull", "key smoothing needs quantized keys"),
    ],
)
def test_validation_names_allowed_values(bad, needle):
    with pytest.raises(ValueError, match=needle):
        parse_config(bad)


def test_grid_covers_the_study():
    ids = {c.id for c in enumerate_grid()}
    for pair in ("k8v8", "k8v4", "k8v2", "k4v4", "k4v2", "k2v2"):
        for gran in ("tensor", "token", "block32", "block64", "block128", "channel"):
            for w in ("w16", "w4"):
                assert f"{w}-{pair}-{gran}-ks-r0-c256" in ids
    assert "w16-k16v16-cfull" in ids


def test_full_grid_is_large_unique_and_valid():
    grid = full_grid()
    assert len(grid) >= 10_000
    assert len({c.id for c in grid}) == len(grid)
    assert all(parse_config(c.id) == c for c in grid)


def test_a_scheme_names_its_own_kv_error_keys_and_label():
    kivi = KVScheme(2, 4, "channel", smooth_keys=True)
    assert kivi.label == "channel"
    assert kivi.side_key("k") == "k2-channel-ks"
    assert kivi.side_key("v") == "v4-token"  # KIVI's values are quantized per token
    block = KVScheme(16, 2, "block", 64)
    assert block.label == "block64"
    assert block.side_keys() == ("v2-block64",)
    assert KVScheme().side_keys() == ()


def test_a_weights_id_parses_alone_and_round_trips():
    from models.space import parse_weights

    for wid in ("w16", "w4", "w4g64", "w4g32"):
        assert parse_weights(wid).id == wid
    for bad in ("w8", "w16g64", "w4g48", "4"):
        with pytest.raises(ValueError, match="weights id|group size|weight bits"):
            parse_weights(bad)

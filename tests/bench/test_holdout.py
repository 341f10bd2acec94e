"""bench.holdout draws what no stored run used, over every served weight setting."""

from pathlib import Path

from bench.holdout import draw
from calibration.campaign import Campaign
from calibration.executors import LocalExecutor
from calibration.store import Measurement, RunKey, Store
from models.artifact import artifact_path, load_artifact

ROOT = Path(__file__).resolve().parents[2]


def test_held_out_configurations_are_unseen_and_span_the_weight_settings():
    store = Store(str(ROOT / "runs" / "testbed.db"))
    camp = Campaign(store, LocalExecutor(), ROOT / "models" / "testbed" / "testbed-llama",
                    [256, 512], ["passkey"])
    art = load_artifact(artifact_path(ROOT / "models" / "artifacts", "testbed-llama"))
    held = draw(art, camp, 8, seed=5)
    seen = {k.config for k, _ in store.runs("testbed-llama")}
    assert len({c.id for c in held}) == 8
    assert not seen & {c.id for c in held}
    assert {c.weights.id for c in held} == {"w16", "w4", "w4g64", "w4g32"}
    assert draw(art, camp, 8, seed=5) == held  # the bench's own seed decides


def test_a_w16_only_artifact_draws_only_16_bit_weights_and_unchunked_on_request():
    store = Store(str(ROOT / "runs" / "testbed.db"))
    camp = Campaign(store, LocalExecutor(), ROOT / "models" / "testbed" / "testbed-llama",
                    [256, 512], ["passkey"])
    art = load_artifact(artifact_path(ROOT / "models" / "artifacts", "testbed-llama"))
    held = draw(art.model_copy(update={"weight_bits": [16]}), camp, 40, seed=5, unchunked=True)
    assert {c.weights.id for c in held} == {"w16"}  # 4-bit weights are out of its scope
    assert any(c.chunk is None for c in held)
    assert all(c.chunk is not None for c in draw(art, camp, 40, seed=5))


def test_stored_held_out_runs_stay_drawn_when_the_store_or_the_scope_grows(tmp_path):
    import sqlite3

    copy = tmp_path / "testbed.db"  # a copy: the test adds a calibration run to it
    with sqlite3.connect(ROOT / "runs" / "testbed.db") as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    store = Store(str(copy))
    camp = Campaign(store, LocalExecutor(), ROOT / "models" / "testbed" / "testbed-llama",
                    [256, 512], ["passkey"])
    art = load_artifact(artifact_path(ROOT / "models" / "artifacts", "testbed-llama"))
    w16 = art.model_copy(update={"weight_bits": [16]})
    measured = [c.id for c in draw(w16, camp, 8, seed=5)]
    # the scope widens to 4-bit weights: the fresh draw would spread over four weight settings
    assert {c.weights.id for c in draw(art, camp, 8, seed=5)} != {"w16"}
    assert {c.id for c in draw(art, camp, 8, seed=5, kept=measured)} == set(measured)
    # a calibration run now uses one of them: it is no longer held out, a fresh one replaces it
    store.record(RunKey("testbed-llama", measured[3], 512, "passkey", 0, 64, "cpu"),
                 Measurement(peak_bytes=1))
    again = [c.id for c in draw(art, camp, 8, seed=5, kept=measured)]
    assert measured[3] not in again
    assert len(again) == 8
    assert set(again[:7]) == set(measured) - {measured[3]}  # stored ones first


def test_peaks_stored_from_another_runtime_are_refused_not_read_back(tmp_path):
    import pytest

    from bench.holdout import HOLDOUT_SEED, _peaks

    store = Store(str(tmp_path / "h.db"))
    camp = Campaign(Store(str(ROOT / "runs" / "testbed.db")), LocalExecutor(),
                    ROOT / "models" / "testbed" / "testbed-llama", [256, 512], ["passkey"])
    key = RunKey("testbed-llama", "w16-k4v4-token-r0-c64", 512, "passkey", HOLDOUT_SEED, 0, "cpu")
    elsewhere = {"attention": "sdpa", "dtype": "bf16", "kernel": "some_other_isa"}
    store.record(key, Measurement(peak_bytes=123, versions=elsewhere))
    with pytest.raises(SystemExit, match="cpu-sdpa-bf16-some_other_isa.*--holdout-db"):
        _peaks(store, camp, [key])

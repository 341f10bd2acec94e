"""bench.holdout draws what no stored run used, over every served weight setting."""

from pathlib import Path

from bench.holdout import draw
from calibration.campaign import Campaign
from calibration.executors import LocalExecutor
from calibration.store import Store
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

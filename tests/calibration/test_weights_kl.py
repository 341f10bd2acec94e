"""The 4-bit weights' own KL: measured once per prompt set (real AWQ on the tiny model)."""

from calibration.store import Store
from calibration.weights_kl import WeightsProbe, stored_weights_kl


def test_measured_once_then_read_from_the_store(tiny_model_dir, tmp_path):
    store = Store(str(tmp_path / "w.db"))
    kl, new = stored_weights_kl(store, "tiny", tiny_model_dir, WeightsProbe("w4", "passkey", 128, 0, 2))
    assert new and kl > 0  # int4 weights change the answers' distribution
    assert stored_weights_kl(store, "tiny", tiny_model_dir, WeightsProbe("w4", "passkey", 128, 0, 2)) == (
        kl, False)
    assert store.weights_kl("tiny") == {("w4", "passkey", 128, 0, 2): kl}

"""Only runs whose peak a fingerprinted re-probe reproduces to the byte get its runtime."""

from calibration.store import Measurement, RunKey, Store
from scripts.backfill_runtime import EVIDENCE, backfill

AVX = {"device": "cpu", "attention": "sdpa", "dtype": "bf16", "kernel": "avx512_core_bf16"}


def key(config: str, ctx: int, n: int = 64, seed: int = 0) -> RunKey:
    return RunKey("m", config, ctx, "passkey", seed, n, "cpu")


def test_byte_identical_peaks_are_labelled_others_left_unrecorded(tmp_path):
    store, evidence = Store(str(tmp_path / "s.db")), Store(str(tmp_path / "e.db"))
    old = Measurement(peak_bytes=1000, versions={"torch": "x"})
    store.record(key("w16-k16v16-cfull", 256), old)
    store.record(key("w16-k16v16-cfull", 512), Measurement(peak_bytes=2000))
    store.record(key("w16-k16v16-c64", 512), Measurement(peak_bytes=3000))
    for config, ctx, peak in (("w16-k16v16-cfull", 256, 1000), ("w16-k16v16-cfull", 512, 2001)):
        evidence.record(key(config, ctx, n=0, seed=7), Measurement(peak_bytes=peak, versions=AVX))
    assert backfill(store, evidence, "m") == (1, 1)
    runs = {k.context_tokens: m for k, m in store.runs("m") if k.config == "w16-k16v16-cfull"}
    assert runs[256].versions["kernel"] == "avx512_core_bf16"
    assert runs[256].versions["torch"] == "x"
    assert "byte-identical" in runs[256].versions[EVIDENCE]
    assert "kernel" not in runs[512].versions
    assert backfill(store, evidence, "m") == (0, 1)  # idempotent

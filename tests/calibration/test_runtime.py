"""The fingerprint this machine records with every run, and the fit's choice of runtime."""

import pytest

from calibration.fitting import memory_runs
from calibration.runner import run_one
from calibration.runtime import cpu_flags, fingerprint, kernel_path
from calibration.store import Measurement, RunKey

AMX = {"amx_tile", "amx_bf16", "avx512_bf16", "avx512bw", "avx512f", "avx2"}


@pytest.mark.parametrize(("flags", "cap", "path"), [
    (AMX, None, "avx512_core_amx"),
    (AMX, "AVX512_CORE_BF16", "avx512_core_bf16"),  # how the non-AMX path is forced
    (AMX - {"amx_tile", "amx_bf16"}, None, "avx512_core_bf16"),
    ({"avx512f", "avx512bw", "avx2"}, None, "avx512_core"),
    ({"avx2"}, "avx512_core_amx", "avx2"),
    (set(), None, "generic"),
])
def test_the_kernel_path_is_the_best_isa_the_cpu_has_under_the_cap(flags, cap, path):
    assert kernel_path(flags, cap) == path


def test_this_machine_records_a_kernel_path_its_cpu_supports(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    fp = fingerprint("cpu")
    assert fp["device"] == "cpu" and fp["dtype"] == "bf16" and fp["attention"] == "sdpa"
    assert fp["kernel"] == kernel_path(cpu_flags())
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert fingerprint("cpu")["kernel"] in ("avx2", "generic")


def test_every_run_carries_the_fingerprint():
    key = RunKey("m", "w16-k16v16-cfull", 128, "passkey", 0, 0, "cpu")
    m = run_one("x", key, lambda *_: Measurement(peak_bytes=1))
    assert m.versions["kernel"] == kernel_path(cpu_flags()) and m.versions["torch"]


def test_a_memory_fit_takes_one_recorded_runtime_before_unrecorded_runs():
    def run(i, versions):
        return (RunKey("m", "w16-k16v16-cfull", 128 + i, "passkey", 0, 0, "cpu"),
                Measurement(peak_bytes=100, versions=versions))
    avx = {"attention": "sdpa", "dtype": "bf16", "kernel": "avx512_core_bf16"}
    amx = avx | {"kernel": "avx512_core_amx"}
    runs = ([run(i, {"torch": "2.13"}) for i in range(5)] + [run(10 + i, avx) for i in range(3)]
            + [run(20 + i, amx) for i in range(2)])
    chosen, fp = memory_runs(runs)
    assert len(chosen) == 3 and fp["kernel"] == "avx512_core_bf16" and fp["device"] == "cpu"
    only_old, fp = memory_runs(runs[:5])
    assert len(only_old) == 5 and "kernel" not in fp

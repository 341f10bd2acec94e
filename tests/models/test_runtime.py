"""Runtime names: runs of one kernel path share a memory fit; unrecorded paths never match."""

from models.runtime import runtime_label, same_kernels

AVX = {"device": "cpu", "attention": "sdpa", "dtype": "bf16", "kernel": "avx512_core_bf16",
       "cpu": "AMD EPYC", "torch": "2.13.0+cpu"}


def test_the_label_names_device_attention_dtype_and_kernel_path():
    assert runtime_label(AVX) == "cpu-sdpa-bf16-avx512_core_bf16"
    assert runtime_label({"device": "cpu", "torch": "2.13.0+cpu"}) == "cpu-unrecorded"


def test_only_the_kernel_keys_decide_and_unrecorded_never_matches():
    assert same_kernels(AVX, AVX | {"cpu": "another CPU", "torch": "2.14"})
    assert not same_kernels(AVX, AVX | {"kernel": "avx512_core_amx"})
    assert not same_kernels({"device": "cpu"}, {"device": "cpu"})

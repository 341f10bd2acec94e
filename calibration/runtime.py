"""This machine's runtime fingerprint (models.runtime names it): device, attention
implementation, dtype and the kernel path its matmuls take, plus versions for the record."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

# oneDNN's CPU ISA ladder for bf16 matmul, best first: (name, cpuinfo flags it needs)
ISA_LADDER = (
    ("avx512_core_amx", {"amx_tile", "amx_bf16", "avx512_bf16"}),
    ("avx512_core_bf16", {"avx512_bf16", "avx512bw"}),
    ("avx512_core", {"avx512f", "avx512bw"}),
    ("avx2", {"avx2"}),
)
ISA_NAMES = tuple(name for name, _ in ISA_LADDER)
# attention implementations a model is loaded with (transformers'); the probe measures each as
# its own runtime (models.memory.runtimes)
ATTENTIONS = ("sdpa", "eager")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def kernel_path(flags: set[str], max_isa: str | None = None) -> str:
    """The ISA oneDNN's bf16 kernels run on: the best the CPU has, capped by
    ONEDNN_MAX_CPU_ISA (e.g. AVX512_CORE_BF16 forces the non-AMX path on an AMX machine)."""
    cap = ISA_NAMES.index(max_isa.lower()) if max_isa and max_isa.lower() in ISA_NAMES else 0
    for name, needs in ISA_LADDER[cap:]:
        if needs <= flags:
            return name
    return "generic"


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def fingerprint(device: str = "cpu", dtype: str | None = None,
                attention: str = "sdpa") -> dict[str, str]:
    """The fingerprint of a run on `device` (cpu | cuda) with the loader's defaults (sdpa;
    bf16 on CPU, fp16 on CUDA)."""
    out = {"device": device, "attention": attention,
           "dtype": dtype or ("fp16" if device == "cuda" else "bf16")}
    if device == "cuda":
        try:
            import torch

            props = torch.cuda.get_device_properties(0)
            out["kernel"] = f"sm{props.major}{props.minor}"
            out["gpu"] = props.name
            out["cuda"] = str(torch.version.cuda)
        except (ImportError, RuntimeError, AssertionError):
            out["kernel"] = "cuda-unknown"
    else:
        out["kernel"] = kernel_path(cpu_flags(), os.environ.get("ONEDNN_MAX_CPU_ISA"))
        out["cpu"] = cpu_model()
    for pkg in ("torch", "transformers"):
        if (v := _version(pkg)) is not None:
            out[pkg] = v
    return out

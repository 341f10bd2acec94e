"""Label stored runs with the runtime that reproduces their peaks byte for byte.

Runs stored before fingerprints were recorded say nothing about their kernel path. `python -m
bench.holdout --sections memory` re-probes every (configuration, context) of a model's memory
fit on the machine it runs on, recording that machine's fingerprint. Where the re-probed peak
equals the stored one to the byte, the stored run was measured on a runtime with the same
kernels, and this script adds the re-probe's kernel keys to its `versions` with a note of the
evidence; runs without such a match are left unrecorded. Then refit (`kvpareto fit`).

    python -m scripts.backfill_runtime --model testbed-llama [--db runs/testbed.db]
        [--evidence runs/holdout-testbed-llama.db]
"""

from __future__ import annotations

import argparse

from calibration.store import Store
from models.runtime import KERNEL_KEYS, runtime_label

EVIDENCE = "runtime_evidence"


def backfill(store: Store, evidence: Store, model: str, device: str = "cpu") -> tuple[int, int]:
    """(runs labelled, runs whose peak the evidence does not reproduce)."""
    probes: dict[tuple[str, int], tuple[int, dict[str, str]]] = {}
    for k, m in evidence.runs(model, "ok", device):
        if k.n == 0 and m.peak_bytes and m.versions.get("kernel"):
            probes[(k.config, k.context_tokens)] = (int(m.peak_bytes), m.versions)
    labelled = differ = 0
    for k, m in store.runs(model, "ok", device):
        probe = probes.get((k.config, k.context_tokens))
        if m.peak_bytes is None or m.versions.get("kernel") or probe is None:
            continue
        peak, versions = probe
        if peak != m.peak_bytes:
            differ += 1
            continue
        # the kernel path is what the byte identity shows; the CPU model it ran on stays unknown
        extra = {key: versions[key] for key in KERNEL_KEYS if key in versions}
        extra[EVIDENCE] = (f"peak re-probed byte-identical on {runtime_label(versions)} "
                           "(bench.holdout)")
        store.add_versions(k, extra)
        labelled += 1
    return labelled, differ


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--db", default="runs/testbed.db")
    p.add_argument("--evidence", default=None, help="default: runs/holdout-<model>.db")
    a = p.parse_args(argv)
    labelled, differ = backfill(Store(a.db), Store(a.evidence or f"runs/holdout-{a.model}.db"),
                                a.model)
    print(f"{a.model}: {labelled} runs labelled; {differ} stored peaks not reproduced (left "
          "unrecorded)")


if __name__ == "__main__":
    main()

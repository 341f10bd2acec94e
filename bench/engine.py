"""Engine benchmark: prefill/decode time and peak memory of 16-bit vs int4 vs int2 KV caches.

Tiny Llama (hidden 256, 2 layers) at 2,048 tokens on CPU; prints figures, asserts nothing.
Run: HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python bench/engine.py [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from calibration.engine.driver import greedy_decode, prefill
from calibration.engine.probe import probe_prefill
from calibration.engine.tiny import tiny_model
from calibration.kvcache import QuantizedKVCache
from models.space import KVScheme

SCHEMES = {
    "k16v16": KVScheme(),
    "k4v4-token": KVScheme(4, 4, "token"),
    "k4v2-channel-ks-r128": KVScheme(4, 2, "channel", None, True, 128),
    "k2v2-token": KVScheme(2, 2, "token"),
    "k2v2-block32-ks": KVScheme(2, 2, "block", 32, True, 0),
}


def time_once(model: object, ids: torch.Tensor, scheme: KVScheme, chunk: int | None,
              decode: int) -> tuple[float, float]:
    cache = QuantizedKVCache.for_model(scheme, model)
    t0 = time.perf_counter()
    logits = prefill(model, ids, cache, chunk)
    t1 = time.perf_counter()
    greedy_decode(model, cache, logits, decode)
    t2 = time.perf_counter()
    return t1 - t0, (t2 - t1) / decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--decode", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = tiny_model("llama")
    ids = torch.randint(0, 512, (1, args.tokens), generator=torch.Generator().manual_seed(0))
    time_once(model, ids, KVScheme(), args.chunk, 2)  # warm-up
    print(f"tiny llama bf16 CPU, {args.tokens} tokens, chunk {args.chunk}, "
          f"{args.threads} thread(s), median of {args.repeats}")
    print(f"{'scheme':24} {'prefill ms':>10} {'x16bit':>7} {'decode ms/tok':>13} "
          f"{'cache B':>10} {'peak B':>10} {'transient B':>11}")
    base = None
    for name, scheme in SCHEMES.items():
        runs = [time_once(model, ids, scheme, args.chunk, args.decode) for _ in range(args.repeats)]
        pre = statistics.median(r[0] for r in runs) * 1e3
        dec = statistics.median(r[1] for r in runs) * 1e3
        base = base or pre
        peak, _ = probe_prefill(model, ids, scheme, args.chunk)
        print(f"{name:24} {pre:10.1f} {pre / base:7.2f} {dec:13.2f} "
              f"{peak.cache_bytes:10d} {peak.peak_bytes:10d} {peak.transient_bytes:11d}")


if __name__ == "__main__":
    main()

"""How fast a 4-bit AWQ model runs in the accuracy harness: layers kept packed (dequantized on
every call, as the memory probe runs them) against dequantized once at load (`load_model(...,
packed=False)`, what the harness uses), on the same inputs, with the logits compared.

    python -m bench.awq_speed --model runs/awq/SmolLM2-135M-Instruct-w4g64 --context 2048

Times one prefill of `--context` tokens and `--steps` one-token forwards of a `--rows`-row batch
(a decode step's weight work without its cache; the harness's answer passes decode 16 rows at a
time), best of `--repeat`, on `--threads` threads.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from calibration.engine.loading import load_model


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="an AWQ folder (calibration.awq_cache)")
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.context < 1 or a.rows < 1 or a.steps < 1 or a.repeat < 1:
        ap.error("--context, --rows, --steps and --repeat must be at least 1")
    config = Path(a.model) / "config.json"
    if config.is_file() and "quantization_config" not in json.loads(config.read_text()):
        ap.error(f"--model: {a.model} is a 16-bit folder; give its AWQ folder (runs/awq/...)")
    torch.set_num_threads(a.threads)
    try:
        models = {"packed": load_model(a.model), "dequantized once": load_model(a.model,
                                                                                 packed=False)}
    except ValueError as e:
        ap.error(f"--model: {e}")
    vocab = int(models["packed"].config.vocab_size)
    gen = torch.Generator().manual_seed(0)
    ctx = torch.randint(0, vocab, (1, a.context), generator=gen)
    step = torch.randint(0, vocab, (a.rows, 1), generator=gen)
    print(f"{a.model}: prefill {a.context} tokens, {a.steps} decode steps × {a.rows} rows, "
          f"{a.threads} thread(s), best of {a.repeat}")
    logits = {}
    for name, model in models.items():
        with torch.no_grad():
            logits[name] = model(ctx[:, :256]).logits
            prefill = best_of(lambda m=model: m(ctx), a.repeat)
            decode = best_of(lambda m=model: [m(step) for _ in range(a.steps)], a.repeat)
        print(f"  {name:17s} prefill {prefill:7.2f} s   decode {1e3 * decode / a.steps:8.1f} ms"
              " a step")
    same = torch.equal(logits["packed"], logits["dequantized once"])
    print(f"  logits of the first 256 tokens identical: {same}")


if __name__ == "__main__":
    main()

"""Print the ledger of the KV Pareto study's configurations for one model, sorted by memory.

    python -m bench.study_ledger --model Llama-3.1-8B-Instruct --context 131072
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from models.memory import compatible, gib, grid_arrays, ledger_grid
from models.space import BASELINE, Config, KVScheme, Weights
from models.specs import load_spec

PAIRS = ((16, 16), (8, 8), (8, 4), (8, 2), (4, 4), (4, 2), (2, 2))


def study_configs() -> list[Config]:
    out = [BASELINE, Config(Weights(4, 128))]
    for k, v in PAIRS[1:]:
        for w in (Weights(16), Weights(4, 128)):
            for gran, group in (("token", None), ("block", 64), ("tensor", None)):
                kv = KVScheme(k, v, gran, group, smooth_keys=True)  # type: ignore[arg-type]
                out += [Config(w, kv, None), Config(w, kv, 256)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="Llama-3.1-8B-Instruct")
    ap.add_argument("--context", type=int, default=131072)
    args = ap.parse_args()
    spec = load_spec(args.model)
    configs = compatible(spec, study_configs())
    led = ledger_grid(spec, grid_arrays(configs), args.context)
    base = int(led.peak[0])
    table = Table(title=f"{spec.name} at {args.context:,} tokens (default transient coefficients)")
    for col in ("configuration", "weights", "KV cache", "transient", "peak GiB", "saved"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for i in sorted(range(len(configs)), key=lambda i: int(led.peak[i])):
        table.add_row(
            configs[i].id, f"{gib(led.weights[i]):.2f}", f"{gib(led.kv_cache[i]):.2f}",
            f"{gib(led.transient_total[i]):.2f}", f"{gib(led.peak[i]):.2f}",
            f"{100 * (1 - led.peak[i] / base):.0f}%",
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()

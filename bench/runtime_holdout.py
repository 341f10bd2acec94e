"""Held-out peaks of a runtime profile against its fit, its first principles and the default
runtime's fit: does the profile's own fit predict what that runtime really allocates?

    python -m bench.runtime_holdout [--db runs/testbed-eager-holdout.db] [--profile ...]

The store holds memory-only probes (`kvpareto probe`, scripts/probe_testbed_eager_holdout.sh)
of configurations and lengths the fit never saw; the artifacts are the shipped ones (a model
without one is predicted from its shipped spec and first principles alone).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from calibration.store import Store
from models.artifact import artifact_path, load_artifact
from models.memory import (
    DEFAULT_RUNTIME,
    GridLedger,
    MemoryCoefficients,
    grid_arrays,
    runtime_profile,
)
from models.paths import ARTIFACT_DIR
from models.space import parse_config
from models.specs import load_spec, spec_from_config

MODELS = ("testbed-llama", "testbed-qwen2", "testbed-mistral")


def errors(db: str, model: str, profile: str) -> dict[str, dict[str, float]]:
    """Per way of predicting: median and max |relative error|, and the bound's coverage."""
    path = artifact_path(Path(ARTIFACT_DIR), model)
    art = load_artifact(path) if path.is_file() else None
    spec = spec_from_config(dict(art.config_json), model) if art else load_spec(model)
    runs = [(k, m) for k, m in Store(db).runs(model, "ok") if m.peak_bytes]
    if not runs:
        raise ValueError(f"{db}: no probes of {model}")
    grid = grid_arrays([parse_config(k.config) for k, _ in runs])
    ctx = np.array([k.context_tokens for k, _ in runs], dtype=np.int64)
    measured = np.array([m.peak_bytes for _, m in runs], dtype=float)
    fit = art.memory_profiles.get(profile) if art else None
    default = art.memory if art else None
    ways: dict[str, MemoryCoefficients | None] = {
        f"{profile} fit": fit.to_coefficients() if fit else None,
        f"{profile} first principles": runtime_profile(profile).first_principles(),
        "hf-sdpa fit (the runtime ignored)": default.to_coefficients() if default else None,
    }
    if profile != DEFAULT_RUNTIME and default is None:
        ways["hf-sdpa first principles (the runtime ignored)"] = (
            runtime_profile(DEFAULT_RUNTIME).first_principles())
    out = {}
    for way, coef in ways.items():
        if coef is None:
            continue
        at = GridLedger(spec, grid, coef).at(ctx)
        rel = at.peak / measured - 1
        out[way] = {"n": float(len(runs)), "median": float(np.median(np.abs(rel))),
                    "max": float(np.max(np.abs(rel))), "bias": float(np.median(rel)),
                    "covered": float(np.mean(measured <= at.peak_bound))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="runs/testbed-eager-holdout.db")
    ap.add_argument("--profile", default="hf-eager-generate")
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    t = Table(title=f"{args.profile}: held-out peaks ({args.db})")
    for col in ("model", "prediction", "runs", "median |err|", "max |err|", "median err",
                "bound covers"):
        t.add_column(col, justify="left" if col in ("model", "prediction") else "right")
    for model in args.models.split(","):
        for way, e in errors(args.db, model, args.profile).items():
            t.add_row(model, way, f"{e['n']:.0f}", f"{100 * e['median']:.2f} %",
                      f"{100 * e['max']:.2f} %", f"{100 * e['bias']:+.2f} %",
                      f"{100 * e['covered']:.0f} %")
    Console(width=160).print(t)


if __name__ == "__main__":
    main()

"""`kvpareto memory`, `configs` and `models`: the memory ledger and the grid, torch-free."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from calibration.artifacts import fitted_coefficients
from calibration.cli.app import console
from models.memory import (
    DEFAULT_RUNTIME,
    RUNTIME_NAMES,
    gib,
    kv_bytes_per_token_16bit,
    ledger,
    runtime_profile,
)
from models.space import Config, enumerate_grid, full_grid, parse_config
from models.specs import load_spec, shipped_specs


def memory(
    model: Annotated[str, typer.Option(help="shipped spec name or path to a config.json")],
    context: Annotated[int, typer.Option(help="context length in tokens")],
    config: Annotated[str, typer.Option(help="configuration id")] = "w16-k16v16-cfull",
    runtime: Annotated[str, typer.Option(
        help="runtime profile: " + ", ".join(RUNTIME_NAMES))] = DEFAULT_RUNTIME,
    as_json: Annotated[bool, typer.Option("--json", help="bytes per term as JSON")] = False,
) -> None:
    """The memory ledger of one configuration at one context length, under a runtime profile
    (its fitted coefficients when the model's artifact has them, else first principles)."""
    if context <= 0:
        raise ValueError(f"--context must be a positive number of tokens; got {context}")
    profile = runtime_profile(runtime)
    spec = load_spec(model)
    cfg = parse_config(config)
    coefficients = fitted_coefficients(spec.name, runtime)
    fitted = "fitted" if coefficients is not None else "default"
    if coefficients is None and runtime != DEFAULT_RUNTIME:
        coefficients = profile.first_principles()
    result = ledger(spec, cfg, context, coefficients)
    if as_json:
        doc = {
            "model": spec.name,
            "config": cfg.id,
            "context_tokens": context,
            "runtime": runtime,
            "coefficients": fitted,
            "bytes": result.terms,
            "exact": result.exact,
            "transient_peak_bytes": result.transient_peak,
            "transient_phase": result.dominant_phase,
            "transient_phases": result.phases,
            "peak_bytes": result.peak_bytes,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    table = Table(title=f"{spec.name} · {cfg.id} · {context:,} tokens · runtime {runtime}")
    table.add_column("term")
    table.add_column("GiB", justify="right")
    table.add_column("bytes", justify="right")
    table.add_column("source")
    for term, n_bytes in result.terms.items():
        source = "exact" if result.exact[term] else fitted
        if term.startswith("transient.") and not n_bytes:
            continue  # not live in the phase that makes the peak
        table.add_row(term, f"{gib(n_bytes):.3f}", f"{n_bytes:,}", source)
    others = ", ".join(f"{p} {gib(v):.3f}" for p, v in result.phases.items()
                       if p != result.dominant_phase)
    table.add_row(f"transient peak ({result.dominant_phase})", f"{gib(result.transient_peak):.3f}",
                  f"{result.transient_peak:,}", f"max of phases; others GiB: {others}")
    table.add_row("[bold]peak", f"[bold]{gib(result.peak_bytes):.3f}", f"{result.peak_bytes:,}", "")
    console.print(table)


def configs(
    full: Annotated[bool, typer.Option(help="every bit pair, group, residual and chunk")] = False,
) -> None:
    """List the configuration grid, one canonical id per line."""
    grid: list[Config] = full_grid() if full else enumerate_grid()
    for c in grid:
        sys.stdout.write(c.id + "\n")


def models() -> None:
    """List the shipped architecture specs and testbed models."""
    table = Table(title="shipped models")
    for col in ("name", "type", "layers", "KV heads", "head_dim", "params", "KV B/token (16-bit)"):
        table.add_column(col)
    for name in shipped_specs():
        s = load_spec(name)
        table.add_row(
            name, s.model_type, str(s.num_layers), str(s.num_kv_heads), str(s.head_dim),
            f"{s.parameters:,}", f"{kv_bytes_per_token_16bit(s):,}",
        )
    console.print(table)

"""`kvpareto fit`: memory coefficients and accuracy models from the stored runs → artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from calibration.cli.app import console
from calibration.cli.inputs import DB, DEVICES, model_folder, open_store
from calibration.settings import CalibrationSettings
from models.artifact import artifact_path, write_json_atomic


def fit(
    model: Annotated[str, typer.Option(help="model folder, testbed name, hub id or .gguf file")],
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    max_memory_context: Annotated[int | None, typer.Option(help="memory fit: runs ≤ this")] = None,
    out_dir: Annotated[Path | None, typer.Option(help="artifact folder")] = None,
    memory_db: Annotated[list[str] | None, typer.Option(
        help="store of memory probes under another attention (kvpareto probe); repeatable")]
    = None,
    db: DB = None,
) -> None:
    """Fit memory coefficients and accuracy models; write the versioned artifact atomically."""
    from calibration.fitting import build_artifact

    if device not in DEVICES:  # the runs' device: a label here, no GPU needed to fit
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}; got {device!r}")
    model_dir, _ = model_folder(model, weights=False)
    store = open_store(db)
    extra = [open_store(url) for url in memory_db or []]
    art = build_artifact(store, model_dir.resolve().name, model_dir, device, max_memory_context,
                         extra)
    path = artifact_path(out_dir or CalibrationSettings().artifact_dir, art.model)
    write_json_atomic(path, art)
    store.add_artifact(art.model, path)
    table = Table(title=f"{art.model} → {path}")
    for col in ("task", "metric", "kind", "runs", "cv MAE", "90% half-width", "floor"):
        table.add_column(col)
    for task, fits in art.accuracy.items():
        for metric, f in fits.items():
            # a loss's half-width is in decades of (loss − 16-bit loss + floor); a sampled
            # accuracy's in units of its log-odds loss + logit_scale (or, in older fits,
            # expected errors of a measurement: models.accuracy.error_scale)
            unit = (" dex" if f.kind == "loss" else f" ×(ℓ+{f.logit_scale:g})" if f.logit_scale
                    else " σ" if f.samples else "")
            width = f"{f.interval_q:.4f}{unit}"
            if f.interval_bins:  # Mondrian: one width per bin of the predicted value
                qs = [q for _, q in f.interval_bins]
                width = f"{min(qs):.3f}–{max(qs):.3f}{unit} ({len(qs)} bins)"
            table.add_row(task, metric, f.kind, str(f.n_runs), f"{f.cv_mae or 0.0:.4f}", width,
                          f"{f.floor:g}")
    console.print(table)
    mems = {"memory": art.memory} | {f"memory ({p})": f for p, f in art.memory_profiles.items()}
    for which, mem in mems.items():
        if mem is None:
            continue
        res = [abs(r) for r in mem.residuals]
        console.print(f"{which}: {mem.n_runs} runs on {mem.runtime}, median |residual| "
                      f"{100 * sorted(res)[len(res) // 2]:.2f}%, max {100 * max(res):.2f}%, "
                      f"95 % bound x{mem.bound_factor:.4f}")

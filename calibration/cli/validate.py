"""`kvpareto validate`: re-run the predicted frontier for real; JSON report and PNG plot.
`kvpareto rescore`: an earlier report's measurements predicted again by the artifact served now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from calibration.cli.app import console
from calibration.cli.inputs import (
    ADDRESS,
    DB,
    EXECUTOR,
    context_lengths,
    device_name,
    executor_name,
    model_folder,
    open_store,
)
from calibration.settings import CalibrationSettings
from models.artifact import artifact_path, load_artifact, load_report, write_json_atomic
from models.memory import GIB


def validate(
    model: Annotated[str, typer.Option(help="model folder, testbed name, hub id or .gguf file")],
    context: Annotated[int, typer.Option(help="context length in tokens")],
    budget: Annotated[float | None, typer.Option(help="memory budget in GiB")] = None,
    task: Annotated[str | None, typer.Option(help="task (default: the artifact's first)")] = None,
    metric: Annotated[str, typer.Option(help="exact_match | answer_nll | kl")] = "exact_match",
    points: Annotated[int, typer.Option(help="frontier points to re-run")] = 8,
    n: Annotated[int, typer.Option(help="samples per point")] = 16,
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    executor: EXECUTOR = "local",
    address: ADDRESS = None,
    db: DB = None,
) -> None:
    """Re-run the predicted frontier for real; write a JSON report and a PNG plot."""
    from calibration.executors import make_executor
    from calibration.validate import FrontierQuery, plot
    from calibration.validate import validate as run_validation

    settings = CalibrationSettings()
    if context <= 0 or (budget is not None and budget <= 0) or points <= 0 or n <= 0:
        raise ValueError("--context, --budget, --points and --n must be positive")
    model_dir, spec = model_folder(model)
    context_lengths(str(context), "context", spec)
    art = load_artifact(artifact_path(settings.artifact_dir, model_dir.resolve().name))
    task = task or (art.tasks[0] if art.tasks else "")
    if task not in art.accuracy or metric not in art.accuracy[task]:
        raise ValueError(f"{art.model} has no accuracy model for {task}/{metric}; "
                         f"tasks: {', '.join(sorted(art.accuracy))}")
    device = device_name(device)
    executor = executor_name(executor)
    store = open_store(db)
    ex = make_executor(executor, address)
    budget_bytes = None if budget is None else int(budget * GIB)
    try:
        query = FrontierQuery(context, task, metric, budget_bytes, points)
        report = run_validation(art, model_dir, store, ex, query, n, device)
    finally:
        ex.close()
    folder = settings.validations_dir  # env KVPARETO_VALIDATIONS_DIR, as the service reads
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = write_json_atomic(folder / f"{art.model}-{task}-{context}-{stamp}.json", report)
    png = plot(report, path.with_suffix(".png"))
    store.add_validation(art.model, task, context, path, report.model_dump(exclude={"points"}))
    print_report(report)
    console.print(f"report {path}\nplot   {png}")


def rescore(
    report: Annotated[Path, typer.Option(help="a report written by `kvpareto validate`")],
) -> None:
    """Predict an earlier report's measured points again with the artifact served now (no
    inference): a new report that names the one it came from."""
    from calibration.validate import plot
    from calibration.validate import rescore as rescore_report

    settings = CalibrationSettings()
    old = load_report(report)
    art = load_artifact(artifact_path(settings.artifact_dir, old.model))
    if old.artifact_created_at == art.created_at:
        console.print(f"{report.name} was predicted by the artifact served now "
                      f"({art.created_at}); nothing to do")
        return
    again = rescore_report(art, old, report.name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{art.model}-{again.task}-{again.context_tokens}-{stamp}.json"
    path = write_json_atomic(settings.validations_dir / name, again)
    png = plot(again, path.with_suffix(".png"))
    print_report(again)
    console.print(f"was: accuracy MAE {old.accuracy_mae}, coverage {old.accuracy_coverage} "
                  f"(artifact {old.artifact_created_at or 'not recorded'})")
    console.print(f"report {path}\nplot   {png}")


def print_report(report) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"{report.model} · {report.task}/{report.metric} · {report.context_tokens}")
    for col in ("config", "pred MiB", "meas MiB", "pred", "90% interval", "measured"):
        table.add_column(col)
    for p in report.points:
        meas = "-" if p.measured_peak_bytes is None else f"{p.measured_peak_bytes / 2**20:.2f}"
        acc = "-" if p.measured_accuracy is None else f"{p.measured_accuracy:.3f}"
        table.add_row(p.config, f"{p.predicted_peak_bytes / 2**20:.2f}", meas,
                      f"{p.predicted_accuracy:.3f}",
                      f"[{p.accuracy_lower:.3f}, {p.accuracy_upper:.3f}]", acc)
    console.print(table)
    console.print(f"memory |error| median {report.memory_median_abs_rel_error}, max "
                  f"{report.memory_max_abs_rel_error}; accuracy MAE {report.accuracy_mae}, "
                  f"coverage {report.accuracy_coverage}")
    if report.baseline_measured is not None:
        console.print(f"the 16-bit model on these prompts: {report.baseline_measured:.3f} "
                      f"(the trivial predictor's MAE {report.trivial_mae})")

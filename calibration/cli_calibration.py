"""The `kvpareto calibrate`, `fit` and `validate` commands (registered on calibration.cli.app).

Torch is imported only when a command runs models; bad input prints one line and exits 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from calibration.settings import CalibrationSettings
from models.artifact import ArtifactError, artifact_path, load_artifact, write_json_atomic
from models.memory import GIB

console = Console()
DB = Annotated[str | None, typer.Option(help="SQLAlchemy URL or SQLite path (env KVPARETO_DB)")]
EXECUTOR = Annotated[str, typer.Option(help="local | ray")]
ADDRESS = Annotated[str | None, typer.Option(
    help="Ray cluster address (default: a local Ray); its workers get this checkout's code")]


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--{what} must be comma-separated integers; got {text!r}") from None
    if not values or min(values) <= 0:
        raise ValueError(f"--{what} must list positive integers; got {text!r}")
    return values


def _model_dir(model: str) -> Path:
    from calibration.campaign import resolve_model
    from models.specs import TESTBED_DIR

    if not Path(model).exists() and (TESTBED_DIR / model / "config.json").is_file():
        return TESTBED_DIR / model
    return resolve_model(model)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def calibrate(
    model: Annotated[str, typer.Option(help="model folder or hub id")],
    contexts: Annotated[str, typer.Option(help="context lengths, e.g. 256,512")] = "256,512",
    tasks: Annotated[str, typer.Option(help="tasks, e.g. kv_retrieval,passkey")] = "kv_retrieval",
    budget_runs: Annotated[int, typer.Option(help="most runs to make (active mode)")] = 200,
    mode: Annotated[str, typer.Option(help="active | exhaustive")] = "active",
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    executor: EXECUTOR = "local",
    address: ADDRESS = None,
    n: Annotated[int, typer.Option(help="samples per run")] = 16,
    anchor_contexts: Annotated[str, typer.Option(
        help="16-bit baseline only at these longer lengths, e.g. 1024,2048")] = "",
    memory_contexts: Annotated[str, typer.Option(
        help="peak memory only of every configuration run, at these lengths, e.g. 384")] = "",
    seed: Annotated[int, typer.Option(help="prompt seed")] = 0,
    db: DB = None,
) -> None:
    """Run sampled configurations for real and record every run in the results store."""
    from calibration.campaign import Campaign
    from calibration.cli import fail
    from calibration.executors import make_executor
    from calibration.store import Store
    from calibration.tasks import TASKS

    try:
        ctx = _ints(contexts, "contexts")
        anchors = _ints(anchor_contexts, "anchor-contexts") if anchor_contexts.strip() else []
        mem_ctx = _ints(memory_contexts, "memory-contexts") if memory_contexts.strip() else []
        task_list = [t.strip() for t in tasks.split(",") if t.strip()]
        unknown = [t for t in task_list if t not in TASKS]
        if unknown or not task_list:
            raise ValueError(f"unknown task(s) {unknown}; allowed: {', '.join(sorted(TASKS))}")
        if mode not in ("active", "exhaustive"):
            raise ValueError(f"--mode must be active or exhaustive; got {mode!r}")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"--device must be cpu or cuda; got {device!r}")
        if budget_runs <= 0 or n <= 0:
            raise ValueError("--budget-runs and --n must be positive")
        model_dir = _model_dir(model)
        ex = make_executor(executor, address)
    except ValueError as exc:
        fail(str(exc))
        return
    store = Store(db)
    with _progress() as progress:
        bar = progress.add_task(f"{model_dir.name} {mode}",
                                total=budget_runs if mode == "active" else None)
        failed = 0

        def on_result(key, m):  # type: ignore[no-untyped-def]
            nonlocal failed
            failed += m.status != "ok"
            progress.update(bar, advance=1, description=f"{key.config} L={key.context_tokens}"
                            f" {key.task} ({failed} failed)")

        camp = Campaign(store, ex, model_dir, ctx, task_list, n, seed, device, on_result,
                        anchor_contexts=anchors, memory_contexts=mem_ctx)
        try:
            camp.kv_error()
            camp.exhaustive() if mode == "exhaustive" else camp.active(budget_runs)
        finally:
            ex.close()
        if n > 0:  # AWQ's own KL, which the runs' KL (vs their own weights) leaves out
            for w, t, L, kl in camp.weights_kl():
                console.print(f"{w} weights alone: KL {kl:.4f} vs 16-bit ({t}, {L} tokens)")
    runs = store.runs(camp.name, None, device)
    console.print(f"{camp.name}: {len(runs)} runs stored "
                  f"({sum(m.status != 'ok' for _, m in runs)} failed) in {store.url}")


def fit(
    model: Annotated[str, typer.Option(help="model folder, testbed name or hub id")],
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    max_memory_context: Annotated[int | None, typer.Option(help="memory fit: runs ≤ this")] = None,
    out_dir: Annotated[Path | None, typer.Option(help="artifact folder")] = None,
    db: DB = None,
) -> None:
    """Fit memory coefficients and accuracy models; write the versioned artifact atomically."""
    from calibration.cli import fail
    from calibration.fitting import build_artifact
    from calibration.store import Store

    try:
        model_dir = _model_dir(model)
        store = Store(db)
        art = build_artifact(store, model_dir.resolve().name, model_dir, device, max_memory_context)
        path = artifact_path(out_dir or CalibrationSettings().artifact_dir, art.model)
    except (ValueError, ArtifactError) as exc:
        fail(str(exc))
        return
    write_json_atomic(path, art)
    store.add_artifact(art.model, path)
    table = Table(title=f"{art.model} → {path}")
    for col in ("task", "metric", "kind", "runs", "cv MAE", "90% half-width", "floor"):
        table.add_column(col)
    for task, fits in art.accuracy.items():
        for metric, f in fits.items():
            # a loss's half-width is in decades of (loss − 16-bit loss + floor); a sampled
            # accuracy's in expected errors of a measurement (models.accuracy.error_scale)
            unit = " dex" if f.kind == "loss" else " σ" if f.samples else ""
            width = f"{f.interval_q:.4f}{unit}"
            if f.interval_bins:  # Mondrian: one width per bin of the predicted value
                qs = [q for _, q in f.interval_bins]
                width = f"{min(qs):.3f}–{max(qs):.3f}{unit} ({len(qs)} bins)"
            table.add_row(task, metric, f.kind, str(f.n_runs), f"{f.cv_mae or 0.0:.4f}", width,
                          f"{f.floor:g}")
    console.print(table)
    if art.memory:
        res = [abs(r) for r in art.memory.residuals]
        console.print(f"memory: {art.memory.n_runs} runs, median |residual| "
                      f"{100 * sorted(res)[len(res) // 2]:.2f}%, max {100 * max(res):.2f}%")


def validate(
    model: Annotated[str, typer.Option(help="model folder, testbed name or hub id")],
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
    from calibration.cli import fail
    from calibration.executors import make_executor
    from calibration.store import Store
    from calibration.validate import plot
    from calibration.validate import validate as run_validation

    settings = CalibrationSettings()
    try:
        if context <= 0 or (budget is not None and budget <= 0) or points <= 0 or n <= 0:
            raise ValueError("--context, --budget, --points and --n must be positive")
        model_dir = _model_dir(model)
        art = load_artifact(artifact_path(settings.artifact_dir, model_dir.resolve().name))
        task = task or (art.tasks[0] if art.tasks else "")
        if task not in art.accuracy or metric not in art.accuracy[task]:
            raise ValueError(f"{art.model} has no accuracy model for {task}/{metric}; "
                             f"tasks: {', '.join(sorted(art.accuracy))}")
        ex = make_executor(executor, address)
    except (ValueError, ArtifactError) as exc:
        fail(str(exc))
        return
    store = Store(db)
    budget_bytes = None if budget is None else int(budget * GIB)
    try:
        report = run_validation(art, model_dir, store, ex, context, task, metric, budget_bytes,
                                n, points, device)
    except ValueError as exc:
        fail(str(exc))
        return
    finally:
        ex.close()
    folder = settings.validations_dir  # env KVPARETO_VALIDATIONS_DIR, as the service reads
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = write_json_atomic(folder / f"{art.model}-{task}-{context}-{stamp}.json", report)
    png = plot(report, path.with_suffix(".png"))
    store.add_validation(art.model, task, context, path, report.model_dump(exclude={"points"}))
    _print_report(report)
    console.print(f"report {path}\nplot   {png}")


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
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


def register(app: typer.Typer) -> None:
    app.command()(calibrate)
    app.command()(fit)
    app.command()(validate)

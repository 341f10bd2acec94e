"""`kvpareto frontier`, `recommend` and `capacity`: the service's three answers, torch-free.

Each builds the API's request model from its options and answers with `service.respond` (see
`kvpareto.ask`); `--json` prints the API's response body, `--csv` the listed points, otherwise a
table with the answer's warnings and, for a refusal, its reason. The service is imported when a
command runs, so `kvpareto --help` and the other commands do not pay for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from calibration.cli.app import console

if TYPE_CHECKING:
    from kvpareto.ask import Answer

MODEL = Annotated[str, typer.Option(help="served model name (`kvpareto models` lists them)")]
CONTEXT = Annotated[int, typer.Option(help="context length in tokens")]
BUDGET = Annotated[float, typer.Option(help="memory budget in GiB")]
MAYBE_BUDGET = Annotated[float | None, typer.Option("--budget", help="memory budget in GiB")]
TASK = Annotated[str | None, typer.Option(help="calibrated task (default: the first)")]
METRIC = Annotated[str | None, typer.Option(help="metric of the task (default: its first)")]
WEIGHTS = Annotated[list[str] | None, typer.Option(
    help="allowed weights: w16, w4, w4g64, w4g32 (repeat, or comma-separate, for several)")]
K_BITS = Annotated[list[int] | None, typer.Option(help="allowed key bits: 16, 8, 4, 2 (repeat)")]
V_BITS = Annotated[list[int] | None, typer.Option(help="allowed value bits: 16, 8, 4, 2 (repeat)")]
FLOOR = Annotated[float | None, typer.Option(
    help="minimum predicted metric (a ceiling for loss metrics)")]
MAX_DROP = Annotated[float | None, typer.Option(help="most drop vs the 16-bit baseline")]
CONSERVATIVE = Annotated[bool, typer.Option(
    help="judge the floor and drop by the interval's pessimistic end")]
RUNTIME = Annotated[str | None, typer.Option(
    help="runtime profile of the memory answer (e.g. hf-sdpa, hf-eager, flash); sent only when "
    "given")]
ARTIFACTS = Annotated[Path | None, typer.Option(
    help="folder of artifact JSON (default: the service's, env KVPARETO_ARTIFACT_DIR)")]
PIPED_WIDTH = 160  # columns of a table written to a pipe or file
AS_JSON = Annotated[bool, typer.Option("--json", help="the API's response body, as JSON")]
AS_CSV = Annotated[bool, typer.Option("--csv", help="the listed points as CSV, one per row")]


def _split(values: list[str] | None) -> list[str] | None:
    return None if values is None else [w for v in values for w in v.split(",") if w]


def _formats(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise ValueError("--json and --csv exclude each other; give one")


def _show(answer: Answer, notes: list[str], as_json: bool, as_csv: bool) -> None:
    """The answer on stdout in the chosen form; load notes (and, beside CSV, the answer's
    warnings and reason) on stderr."""
    from kvpareto import ask, render

    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    if as_json:
        sys.stdout.write(ask.body(answer) + "\n")
    elif as_csv:
        render.write_csv(answer, sys.stdout)
        for line in render.notes(answer):
            if line.startswith(("warning: ", "refused: ")):
                sys.stderr.write(line + "\n")
    else:
        # piped or redirected, rich would cut the table to 80 columns: give it room instead
        out = console if console.is_terminal else Console(width=PIPED_WIDTH)
        out.print(render.table(answer))
        for line in render.notes(answer):
            out.print(Text(line), soft_wrap=True)


def frontier(
    model: MODEL,
    context: CONTEXT,
    budget: MAYBE_BUDGET = None,
    task: TASK = None,
    metric: METRIC = None,
    weights: WEIGHTS = None,
    k_bits: K_BITS = None,
    v_bits: V_BITS = None,
    limit: Annotated[int | None, typer.Option(
        help="most configurations in a memory-only listing (API default 200)")] = None,
    runtime: RUNTIME = None,
    artifacts: ARTIFACTS = None,
    as_json: AS_JSON = False,
    as_csv: AS_CSV = False,
    plot: Annotated[Path | None, typer.Option(
        help="also draw the frontier into this PNG file (asks for every evaluated point)")] = None,
) -> None:
    """The predicted Pareto frontier at one context (and budget), as POST /v1/frontier."""
    _formats(as_json, as_csv)
    if plot is not None and plot.suffix.lower() != ".png":
        raise ValueError(f"--plot {str(plot)!r}: give a file name ending in .png")
    if plot is not None and not plot.resolve().parent.is_dir():
        raise ValueError(f"--plot {str(plot)!r}: folder {str(plot.resolve().parent)!r} "
                         "does not exist")
    from kvpareto import ask

    fields: dict[str, Any] = {
        "model": model, "context_tokens": context, "budget_gib": budget, "task": task,
        "metric": metric, "weights": _split(weights), "k_bits": k_bits, "v_bits": v_bits,
        "limit": limit, "include_points": plot is not None or None, "runtime": runtime,
    }
    answer, notes = ask.frontier(fields, artifacts)
    if plot is not None:
        from kvpareto.plot import write_plot

        write_plot(answer, plot)
        notes = [*notes, f"plot written to {plot}"]
    _show(answer, notes, as_json, as_csv)


def recommend(
    model: MODEL,
    context: CONTEXT,
    budget: BUDGET,
    task: TASK = None,
    metric: METRIC = None,
    max_drop: MAX_DROP = None,
    accuracy_floor: FLOOR = None,
    conservative: CONSERVATIVE = False,
    weights: WEIGHTS = None,
    k_bits: K_BITS = None,
    v_bits: V_BITS = None,
    runtime: RUNTIME = None,
    artifacts: ARTIFACTS = None,
    as_json: AS_JSON = False,
    as_csv: AS_CSV = False,
) -> None:
    """The configuration that keeps the most accuracy within a budget, as POST /v1/recommend
    (or a refusal with its reason)."""
    _formats(as_json, as_csv)
    from kvpareto import ask

    fields: dict[str, Any] = {
        "model": model, "context_tokens": context, "budget_gib": budget, "task": task,
        "metric": metric, "max_drop": max_drop, "accuracy_floor": accuracy_floor,
        "conservative": conservative or None, "weights": _split(weights), "k_bits": k_bits,
        "v_bits": v_bits, "runtime": runtime,
    }
    _show(*ask.recommend(fields, artifacts), as_json, as_csv)


def capacity(
    model: MODEL,
    budget: BUDGET,
    max_context: Annotated[int | None, typer.Option(
        help="search ceiling in tokens (default: the model's max_position_embeddings)")] = None,
    task: TASK = None,
    metric: METRIC = None,
    max_drop: MAX_DROP = None,
    accuracy_floor: FLOOR = None,
    conservative: CONSERVATIVE = False,
    weights: WEIGHTS = None,
    k_bits: K_BITS = None,
    v_bits: V_BITS = None,
    runtime: RUNTIME = None,
    artifacts: ARTIFACTS = None,
    as_json: AS_JSON = False,
    as_csv: AS_CSV = False,
) -> None:
    """The longest context that fits a budget (with optional accuracy constraints), as
    POST /v1/capacity."""
    _formats(as_json, as_csv)
    from kvpareto import ask

    fields: dict[str, Any] = {
        "model": model, "budget_gib": budget, "max_context_tokens": max_context, "task": task,
        "metric": metric, "max_drop": max_drop, "accuracy_floor": accuracy_floor,
        "conservative": conservative or None, "weights": _split(weights), "k_bits": k_bits,
        "v_bits": v_bits, "runtime": runtime,
    }
    _show(*ask.capacity(fields, artifacts), as_json, as_csv)

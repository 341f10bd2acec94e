"""How an answer is printed: a rich table and its notes (warnings, refusal reason), or CSV rows.

Bytes stay integers in the CSV; GiB are written by `service.present.gib_text`, as in the API's
texts. A memory-only answer (no accuracy model) gets no accuracy columns at all.
"""

from __future__ import annotations

import csv
from typing import TextIO

from rich.table import Table
from rich.text import Text

from service.engine import SHOWN_DECIMALS
from service.present import gib_text
from service.schemas.common import ConfigPoint
from service.schemas.responses import CapacityResponse, FrontierResponse, RecommendResponse

Answer = FrontierResponse | RecommendResponse | CapacityResponse
CSV_FIELDS = (
    "model", "context_tokens", "task", "metric", "config", "peak_bytes", "peak_gib",
    "weights_bytes", "kv_cache_bytes", "transient_bytes", "overhead_bytes", "memory_saved_gib",
    "memory_saved_fraction", "accuracy_mean", "accuracy_lower", "accuracy_upper",
    "accuracy_coverage", "drop_vs_baseline", "extrapolated",
)


def listed(answer: Answer) -> list[ConfigPoint]:
    """The points an answer lists: the frontier, or the one recommendation (if any)."""
    if isinstance(answer, FrontierResponse):
        return answer.frontier
    return [answer.recommendation] if answer.recommendation is not None else []


def number(value: float | None) -> str:
    """4 significant digits of a metric, at the 6 decimals the API's point clouds show (a drop
    of 1e-15 is 0)."""
    if value is None:
        return "—"
    return f"{round(value, SHOWN_DECIMALS) + 0.0:.4g}"  # + 0.0: no "-0"


def flags(answer: Answer, p: ConfigPoint) -> str:
    out = []
    if p.config == answer.baseline.config:
        out.append("16-bit baseline")
    if p.extrapolated:
        out.append("extrapolated")
    if p.accuracy is None and answer.accuracy_source == "artifact":
        out.append("no accuracy")
    return ", ".join(out)


def title(answer: Answer) -> str:
    budget = f" in {gib_text(answer.budget_gib)} GiB" if answer.budget_gib is not None else ""
    if isinstance(answer, CapacityResponse):
        found = (f"longest context {answer.context_tokens:,} tokens" if answer.feasible
                 else "no context fits")
        head = f"capacity of {answer.model}{budget}: {found}"
    else:
        verb = "frontier" if isinstance(answer, FrontierResponse) else "recommendation"
        head = f"{verb}: {answer.model} at {answer.context_tokens:,} tokens{budget}"
    memory = f" · runtime {answer.runtime}" + (
        "" if answer.memory_coefficients == "fitted" else " (first-principles memory)")
    if answer.accuracy_source == "none":
        return f"{head}{memory} · memory only (no accuracy model)"
    return f"{head}{memory} · {answer.task} / {answer.metric}"


def table(answer: Answer) -> Table:
    """The listed points (and, beside a recommendation, the 16-bit baseline for comparison)."""
    memory_only = answer.accuracy_source == "none"
    points = listed(answer)
    if not isinstance(answer, FrontierResponse) and points and (
            points[0].config != answer.baseline.config):
        points = [*points, answer.baseline]
    width = max((len(p.config) for p in points), default=6)
    t = Table(title=title(answer))
    t.add_column("config", no_wrap=True, min_width=width)
    t.add_column("peak GiB", justify="right")
    t.add_column("saved %", justify="right")
    if not memory_only:
        coverage = next((p.accuracy.coverage for p in points if p.accuracy), None)
        t.add_column(f"{answer.metric} mean", justify="right")
        t.add_column("interval" if coverage is None else f"{coverage:.0%} interval")
        t.add_column("drop", justify="right")
    t.add_column("flags")
    for p in points:
        cells = [p.config, gib_text(p.memory.peak_gib), f"{100 * p.memory_saved_fraction:.1f}"]
        if not memory_only:
            a = p.accuracy
            cells += [number(a.mean if a else None),
                      f"[{number(a.lower)}, {number(a.upper)}]" if a else "—",
                      number(p.drop_vs_baseline)]
        cells.append(flags(answer, p))
        t.add_row(*(Text(c) for c in cells))  # Text: a "[lo, hi]" cell is no markup
    return t


def notes(answer: Answer) -> list[str]:
    """The lines printed under the table: counts, memory basis, warnings, refusal reason."""
    out = []
    if isinstance(answer, FrontierResponse):
        counts = [f"{answer.evaluated:,} configurations evaluated", f"{answer.fitting:,} fit"]
        if answer.dominated is not None:
            counts.append(f"{answer.dominated:,} dominated")
        if answer.unpredictable:
            counts.append(f"{answer.unpredictable:,} without predicted accuracy")
        if answer.truncated:
            counts.append(f"{answer.truncated:,} more not listed (--limit)")
        out.append(", ".join(counts))
    elif isinstance(answer, RecommendResponse):
        out.append(f"{answer.fitting:,} configurations fit")
    else:
        out.append(f"{answer.searched:,} configurations searched up to "
                   f"{answer.max_context_tokens:,} tokens")
    basis = (f"fitted on {answer.memory_runtime}" if answer.memory_runtime
             else "first-principles defaults")
    out.append(f"memory: {answer.memory_coefficients} coefficients ({basis}); a configuration "
               f"fits when peak × {answer.memory_bound_factor:.4f} is within the budget")
    out += [f"warning: {w}" for w in answer.warnings]
    if not isinstance(answer, FrontierResponse) and answer.reason:
        out.append(f"refused: {answer.reason}")
    return out


def write_csv(answer: Answer, out: TextIO) -> None:
    """One row per listed point, after a header line; empty cells where a value is null."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for p in listed(answer):
        m, a = p.memory, p.accuracy
        w.writerow([
            answer.model, answer.context_tokens, answer.task or "", answer.metric or "",
            p.config, m.peak_bytes, m.peak_gib, m.weights_bytes, m.kv_cache_bytes,
            m.transient_bytes, m.overhead_bytes, p.memory_saved_gib, p.memory_saved_fraction,
            *(("", "", "", "") if a is None else (a.mean, a.lower, a.upper, a.coverage)),
            "" if p.drop_vs_baseline is None else p.drop_vs_baseline,
            str(p.extrapolated).lower(),
        ])

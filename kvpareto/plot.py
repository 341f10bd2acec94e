"""The frontier as a PNG (matplotlib, Agg): every evaluated point faint, the frontier as a step
line with its interval bars, the budget dashed, the 16-bit baseline marked.

Without predicted accuracy (no artifact, or none at this context) the configurations are ranked
by peak memory instead; nothing is drawn on an accuracy axis that the answer does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from service.schemas.responses import FrontierResponse

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SIZE_IN = (8.0, 5.0)
DPI = 110


def draw(answer: FrontierResponse) -> Figure:
    """The figure of `answer` (asked with include_points) on an Agg canvas; no pyplot, so no
    global state and no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)  # the Agg canvas, whatever the configured backend
    ax = fig.subplots()
    if any(m is not None for m in (answer.points.mean if answer.points else [])):
        _accuracy(ax, answer)
    else:
        _memory_only(ax, answer)
    if answer.budget_gib is not None:
        ax.axvline(answer.budget_gib, color="tab:red", linestyle="--", linewidth=1.2,
                   label=f"budget {answer.budget_gib:g} GiB")
    ax.set_xlabel("predicted peak memory (GiB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def write_plot(answer: FrontierResponse, path: Path) -> None:
    """Draw `answer` into the PNG file `path` (Agg: no display needed)."""
    draw(answer).savefig(path, format="png")


def _accuracy(ax: Axes, answer: FrontierResponse) -> None:
    cloud = answer.points
    if cloud is not None:
        known = [(x, y) for x, y in zip(cloud.peak_gib, cloud.mean, strict=True)
                 if y is not None]
        ax.scatter([x for x, _ in known], [y for _, y in known], s=6, color="0.6", alpha=0.3,
                   linewidths=0, label=f"evaluated ({len(known):,})", rasterized=True)
    front = [p for p in answer.frontier if p.accuracy is not None]
    xs = [p.memory.peak_gib for p in front]
    ys = [p.accuracy.mean for p in front if p.accuracy is not None]
    lo = [p.accuracy.mean - p.accuracy.lower for p in front if p.accuracy is not None]
    hi = [p.accuracy.upper - p.accuracy.mean for p in front if p.accuracy is not None]
    coverage = front[0].accuracy.coverage if front and front[0].accuracy else None
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=1.5,
            label=f"frontier ({len(front)})")
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", markersize=3, color="tab:blue", capsize=2,
                linewidth=0.8, label=None if coverage is None else f"{coverage:.0%} interval")
    base = answer.baseline
    if base.accuracy is not None:
        ax.plot([base.memory.peak_gib], [base.accuracy.mean], marker="*", markersize=12,
                color="tab:orange", linestyle="none", label=f"16-bit baseline ({base.config})")
    better = "higher is better" if answer.higher_is_better else "lower is better"
    ax.set_ylabel(f"{answer.task} {answer.metric}, predicted ({better})")
    ax.set_title(f"{answer.model} at {answer.context_tokens:,} tokens: predicted frontier")


def _memory_only(ax: Axes, answer: FrontierResponse) -> None:
    cloud = answer.points
    pairs = sorted(zip(cloud.peak_gib, cloud.fits, strict=True)) if cloud else []
    ranks = range(1, len(pairs) + 1)
    ax.plot([x for x, _ in pairs], ranks, color="0.6", alpha=0.5, linewidth=1,
            label=f"evaluated ({len(pairs):,}), ranked by peak")
    fit = [(x, r) for (x, f), r in zip(pairs, ranks, strict=True) if f]
    if fit and answer.budget_gib is not None:
        ax.scatter([x for x, _ in fit], [r for _, r in fit], s=4, color="tab:blue",
                   linewidths=0, label=f"within the budget ({len(fit):,})", rasterized=True)
    base = answer.baseline.memory.peak_gib
    rank = sum(1 for x, _ in pairs if x <= base)
    ax.plot([base], [rank], marker="*", markersize=12, color="tab:orange", linestyle="none",
            label=f"16-bit baseline ({answer.baseline.config})")
    why = ("no accuracy model" if answer.accuracy_source == "none"
           else "no accuracy predicted at this context")
    ax.set_ylabel("configurations ranked by peak memory (rank)")
    ax.set_title(f"{answer.model} at {answer.context_tokens:,} tokens: {why}, memory only")

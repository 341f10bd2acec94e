"""`kvpareto frontier --plot FILE.png`: a real PNG (read back) for a calibrated model, and for a
memory-only one a plot by memory rank that says it has no accuracy model."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from kvpareto.plot import DPI, SIZE_IN, draw
from service.schemas.responses import FrontierResponse

CASES = {  # id: (model, context, budget)
    "calibrated": ("testbed-llama", "1024", "0.004"),
    "memory-only": ("Llama-3.1-8B-Instruct", "32768", "12"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_plot_file_reads_back(case, kvpareto, tmp_path):
    model, context, budget = CASES[case]
    png = tmp_path / "frontier.png"
    result = kvpareto("frontier", "--model", model, "--context", context, "--budget", budget,
                      "--plot", str(png), "--limit", "5")
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"note: plot written to {png}" in result.stderr
    assert 10_000 < png.stat().st_size < 2_000_000
    image = imread(png)
    height, width = round(SIZE_IN[1] * DPI), round(SIZE_IN[0] * DPI)
    assert image.shape == (height, width, 4)
    rgb = image[..., :3]
    assert rgb.std() > 0.05  # not one flat colour
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100  # lines, points and text
    assert (rgb.mean(axis=2) < 0.5).mean() > 0.005  # something dark was drawn


def answer(kvpareto, *args: str) -> FrontierResponse:
    result = kvpareto("frontier", *args, "--json")
    return FrontierResponse.model_validate_json(result.stdout)


def test_calibrated_plot_draws_frontier_budget_and_baseline(kvpareto, tmp_path):
    a = answer(kvpareto, "--model", "testbed-llama", "--context", "1024", "--budget", "0.004",
               "--plot", str(tmp_path / "f.png"))
    ax = draw(a).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("frontier (") for t in labels)
    assert any(t.startswith("evaluated (") for t in labels)
    assert "budget 0.004 GiB" in labels
    assert any("16-bit baseline (w16-k16v16-cfull)" in t for t in labels)
    assert ax.get_xlabel() == "predicted peak memory (GiB)"
    assert "exact_match" in ax.get_ylabel()


def test_memory_only_plot_invents_no_accuracy(kvpareto, tmp_path):
    a = answer(kvpareto, "--model", "Llama-3.1-8B-Instruct", "--context", "32768", "--budget",
               "12", "--plot", str(tmp_path / "f.png"))
    assert a.accuracy_source == "none"
    ax = draw(a).axes[0]
    assert "no accuracy model" in ax.get_title()
    assert ax.get_ylabel() == "configurations ranked by peak memory (rank)"
    assert a.points is not None
    ranks = ax.get_lines()[0].get_ydata()
    assert len(ranks) == len(a.points.config)  # every evaluated point, by rank

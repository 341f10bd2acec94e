"""`--csv`: a header line, then one row per listed point, the same points and bytes the API
answer lists; null values are empty cells; warnings stay on stderr."""

from __future__ import annotations

import csv
import io

import pytest

from kvpareto.render import CSV_FIELDS, number

CASES = {  # id: (CLI args, API path, API body)
    "frontier-calibrated": (
        ["frontier", "--model", "testbed-llama", "--context", "1024", "--budget", "0.0035"],
        "/v1/frontier", {"model": "testbed-llama", "context_tokens": 1024, "budget_gib": 0.0035}),
    "frontier-memory-only": (
        ["frontier", "--model", "Llama-3.1-8B-Instruct", "--context", "32768", "--limit", "5"],
        "/v1/frontier", {"model": "Llama-3.1-8B-Instruct", "context_tokens": 32768,
                         "limit": 5}),
    "recommend": (
        ["recommend", "--model", "testbed-llama", "--context", "1024", "--budget", "0.004"],
        "/v1/recommend", {"model": "testbed-llama", "context_tokens": 1024, "budget_gib": 0.004}),
    "capacity-refused": (
        ["capacity", "--model", "testbed-llama", "--budget", "0.001"],
        "/v1/capacity", {"model": "testbed-llama", "budget_gib": 0.001}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_csv_rows_are_the_listed_points(case, kvpareto, service):
    args, path, body = CASES[case]
    live = service.post(path, json=body).json()
    points = live.get("frontier") or ([live["recommendation"]] if live.get("recommendation")
                                      else [])
    result = kvpareto(*args, "--csv")
    assert result.exit_code == 0, (result.output, result.exception)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(CSV_FIELDS)
    assert len(rows) == 1 + len(points)
    for row, point in zip(rows[1:], points, strict=True):
        cells = dict(zip(CSV_FIELDS, row, strict=True))
        assert cells["config"] == point["config"]
        assert int(cells["peak_bytes"]) == point["memory"]["peak_bytes"]
        assert cells["model"] == live["model"]
        assert int(cells["context_tokens"]) == live["context_tokens"]
        if point["accuracy"] is None:
            assert cells["accuracy_mean"] == cells["drop_vs_baseline"] == ""
        else:
            assert float(cells["accuracy_mean"]) == point["accuracy"]["mean"]
    assert "warning:" not in result.stdout
    assert "refused:" not in result.stdout
    if live.get("feasible") is False:
        assert f"refused: {live['reason']}" in result.stderr


@pytest.mark.parametrize(("value", "shown"), [
    (None, "—"), (1.0, "1"), (0.98765, "0.9877"), (1e-15, "0"), (-1e-15, "0"),
    (0.000123456, "0.000123"), (12.3456, "12.35"),
])
def test_metric_numbers(value, shown):
    assert number(value) == shown

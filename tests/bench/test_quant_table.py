"""bench.quant_table without a model: the rows it evaluates and the Markdown it writes."""

from __future__ import annotations

import argparse

from bench.quant_table import CHUNK, W4, acceptance, buckets, configs, kv_rows, render
from calibration.harness import EvalResult
from calibration.tasks import KVRetrieval
from models.space import Config, Weights, parse_config


def _args(**changes: object) -> argparse.Namespace:
    base = {"n": 50, "seed": 0, "hard_records": 0, "task": "kv_retrieval", "chunk_tokens": CHUNK,
            "smoothing_ablation": False, "threads": 1, "budget": 4}
    return argparse.Namespace(**{**base, **changes})


def test_smoothing_ablation_repeats_every_smoothed_row_without_it() -> None:
    rows = kv_rows(ablation=True)
    smoothed = [kv for kv in rows if kv.smooth_keys]
    assert len(smoothed) == 12  # k4v4, k4v2, k2v2 × four granularities
    assert len(rows) == 1 + 6 * 4 + 12
    assert {kv.id for kv in rows[25:]} == {kv.id.replace("-ks", "") for kv in smoothed}


def test_a_real_model_table_names_its_folder_task_and_chunk() -> None:
    weights = {"w16": Weights(16)}
    rows = kv_rows(ablation=True)
    columns = [("2048", 2048, KVRetrieval())]
    results = {("models/real/Small", "w16", "2048"): {
        c.id: _fake(c, 0.5) for c in configs(Weights(16), rows, None)}}
    text = render(_args(task="kv_uuid", chunk_tokens=None, smoothing_ablation=True, budget=40),
                  ["models/real/Small"], ["w16"], columns, rows, results, weights, (1.0, []))
    assert text.startswith("# Accuracy under KV-cache quantization: Small")
    assert "kv_uuid, exact match" in text
    assert "Prefill chunk none (one pass)" in text
    assert "testbed-mistral" not in text
    assert "up to 40 tokens." in text
    assert "| k2v2-token | 0.50" in text


def test_rows_are_the_study_grid_with_smoothing_on_int4_and_int2_keys() -> None:
    rows = kv_rows()
    assert rows[0].is_baseline
    assert len(rows) == 1 + 6 * 4 + 1  # 16-bit, pairs × granularities, k2v2-tensor unsmoothed
    assert {kv.group for kv in rows if kv.granularity == "block"} == {32}
    assert all(kv.smooth_keys == (kv.k_bits <= 4) for kv in rows[1:25])
    assert all(kv.residual == 0 for kv in rows)
    for w in (Weights(16), W4):
        for c in configs(w, rows, CHUNK):
            assert c.chunk == CHUNK
            assert parse_config(c.id) == c


def test_buckets_count_drops_in_points() -> None:
    assert buckets([0, 2, 4, 10, 30, 60, -2]) == "3 / 2 / 1 / 1"


def test_a_drop_of_exactly_one_sample_in_fifty_is_within_two_points() -> None:
    weights = {"w16": Weights(16)}
    columns = [("512", 512, KVRetrieval())]
    results = {("m", "w16", "512"): {
        c.id: _fake(c, 0.98 if c.kv.id.startswith("k8v8") else 1.0)
        for c in configs(Weights(16), kv_rows(), CHUNK)}}
    lines = acceptance(["m"], ["w16"], columns, (kv_rows(), CHUNK), results, weights)
    assert any("within 2 points" in line and "**yes**" in line for line in lines)


def _fake(config: Config, accuracy: float) -> EvalResult:
    return EvalResult(config.id, "kv_retrieval", 512, 50, accuracy, max(0, accuracy - 0.1),
                      min(1, accuracy + 0.05), 1.0, 0.01, 0.1, (0.1,), (0.1,), (3.0, 2.5), 1,
                      ())


def test_render_reports_tables_outliers_and_acceptance() -> None:
    weights = {"w16": Weights(16), "w4": W4}
    columns = [("512", 512, KVRetrieval())]
    accuracy = {"k2v2-tensor-r0": 0.1, "k2v2-tensor-ks-r0": 0.6, "k4v2-tensor-ks-r0": 0.9}
    results = {("testbed-llama", "w16", "512"): {
        c.id: _fake(c, accuracy.get(c.kv.id, 1.0)) for c in configs(Weights(16), kv_rows(), CHUNK)}}
    args = _args()
    text = render(args, ["testbed-llama"], ["w16"], columns, kv_rows(), results, weights,
                  (60.0, ["x: 1 s"]))
    assert "| k2v2-tensor | 0.10 (0.00–0.15) · 0.100 · 0.0100 |" in text
    assert "| testbed-llama | w16 | 3.00 / 2.50 |" in text
    lines = acceptance(["testbed-llama"], ["w16"], columns, (kv_rows(), CHUNK), results, weights)
    assert lines[2].endswith("| 0.60 / 0.10 | yes (ks) / yes | 22 / 1 / 1 / 1 |")
    assert any("in between" in line and "**2**" in line for line in lines)
    assert any("falls clearly" in line and "**yes**" in line for line in lines)

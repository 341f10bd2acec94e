"""Validation: the predicted frontier, the report's summary, the CLI writing JSON + PNG."""

import json

import pytest
from typer.testing import CliRunner

from calibration.cli import app
from calibration.fitting import build_artifact
from calibration.sampler import pool
from calibration.store import Measurement, RunKey, Store
from calibration.validate import FrontierQuery, predicted_frontier, summarize
from models.artifact import ValidationPoint, load_report, write_json_atomic
from models.memory import MemoryCoefficients, grid_arrays, ledger_grid
from models.specs import load_spec


@pytest.fixture(scope="module")
def artifact(tiny_model_dir, tmp_path_factory):
    """A fitted artifact of the tiny model from synthetic runs (accuracy falls with K/V error)."""
    folder = tmp_path_factory.mktemp("art")
    store = Store(str(folder / "s.db"))
    name, spec = tiny_model_dir.name, load_spec(str(tiny_model_dir))
    configs = pool(spec)
    table = {}
    for c in configs:
        for s in "kv":
            if (key := c.kv.side_key(s)) is not None:
                scale = 2 if "tensor" in key else 1
                table[key] = {8: 0.005, 4: 0.08, 2: 0.4}[int(key[1])] * scale
    store.save_kv_error(name, "cpu", table)
    coef = MemoryCoefficients(overhead_bytes=1000)
    for L in (128, 256):
        peaks = ledger_grid(spec, grid_arrays(configs[::9]), L, coef).peak
        for c, p in zip(configs[::9], peaks, strict=True):
            err = sum(table.get(c.kv.side_key(s), 0.0) for s in "kv")
            store.record(RunKey(name, c.id, L, "passkey", 0, 8), Measurement(
                peak_bytes=int(p), exact_match=max(0.0, 1 - 2 * err), answer_nll=0.1 + err,
                kl=err**2))
    art = build_artifact(store, name, tiny_model_dir)
    write_json_atomic(folder / f"{name}.json", art)
    return art, folder


def test_predicted_frontier_is_monotone_and_respects_the_budget(artifact):
    art, _ = artifact
    rows = predicted_frontier(art, 256, "passkey", "exact_match", points=6)
    assert 2 <= len(rows) <= 6
    peaks, means = [r[1] for r in rows], [r[2] for r in rows]
    assert peaks == sorted(peaks)
    assert means == sorted(means)
    budget = (peaks[0] + peaks[-1]) // 2
    assert all(r[1] <= budget for r in predicted_frontier(art, 256, "passkey", "exact_match",
                                                          budget))
    with pytest.raises(ValueError, match="no configuration fits"):
        predicted_frontier(art, 256, "passkey", "exact_match", budget_bytes=10)


def test_summary_statistics():
    pts = [ValidationPoint(config="w16-k16v16-cfull", predicted_peak_bytes=110,
                           measured_peak_bytes=100, predicted_accuracy=0.9, accuracy_lower=0.8,
                           accuracy_upper=1.0, measured_accuracy=0.7),
           ValidationPoint(config="w4-k16v16-cfull", predicted_peak_bytes=50,
                           measured_peak_bytes=50, predicted_accuracy=0.5, accuracy_lower=0.4,
                           accuracy_upper=0.6, measured_accuracy=0.5)]
    r = summarize("m", FrontierQuery(256, "passkey"), pts)
    assert r.memory_max_abs_rel_error == pytest.approx(0.1)
    assert r.accuracy_mae == pytest.approx(0.1)
    assert r.accuracy_coverage == 0.5
    assert r.trivial_mae is None  # no 16-bit run on these prompts
    r = summarize("m", FrontierQuery(256, "passkey"), pts, baseline=0.8)
    assert r.baseline_measured == 0.8
    assert r.trivial_mae == pytest.approx((0.1 + 0.3) / 2)  # |0.8 - 0.7|, |0.8 - 0.5|


def test_cli_validate_reruns_the_frontier_and_writes_json_and_png(
    artifact, tiny_model_dir, tmp_path, monkeypatch
):
    art, folder = artifact
    monkeypatch.setenv("KVPARETO_ARTIFACT_DIR", str(folder))
    monkeypatch.setenv("KVPARETO_VALIDATIONS_DIR", str(tmp_path / "val"))
    args = ["validate", "--model", str(tiny_model_dir), "--context", "128", "--task", "passkey",
            "--metric", "kl", "--points", "2", "--n", "2", "--db", str(tmp_path / "v.db")]
    r = CliRunner().invoke(app, [*args, "--budget", "0.0039"])  # 4 MiB: 16-bit weights only
    assert r.exit_code == 0, r.output
    [report] = (tmp_path / "val").glob("*.json")
    doc = load_report(report)
    assert doc.metric == "kl"
    assert doc.artifact_created_at == art.created_at  # which fit made these predictions
    assert 1 <= len(doc.points) <= 2
    # the 16-bit model ran on the same prompts: its KL to itself is 0, so the trivial
    # predictor's error is the points' mean KL
    assert doc.baseline_measured == 0.0
    assert doc.trivial_mae == pytest.approx(
        sum(p.measured_accuracy for p in doc.points) / len(doc.points))
    assert all(p.measured_peak_bytes for p in doc.points)
    assert report.with_suffix(".png").stat().st_size > 1000
    assert json.loads(report.read_text())["kind"] == "kvpareto.validation"


def test_cli_rescore_predicts_an_earlier_reports_measurements_with_the_served_artifact(
    artifact, tmp_path, monkeypatch
):
    art, folder = artifact
    monkeypatch.setenv("KVPARETO_ARTIFACT_DIR", str(folder))
    monkeypatch.setenv("KVPARETO_VALIDATIONS_DIR", str(tmp_path / "val"))
    rows = predicted_frontier(art, 256, "passkey", "exact_match", points=3)
    pts = [ValidationPoint(config=c.id, predicted_peak_bytes=1, measured_peak_bytes=peak,
                           predicted_accuracy=0.5, accuracy_lower=0.0, accuracy_upper=0.6,
                           measured_accuracy=round(hi, 3))  # at the top of today's interval
           for c, peak, _, _, hi in rows]
    old = summarize(art.model, FrontierQuery(256, "passkey"), pts, "2026-01-01T00:00:00+00:00")
    assert old.accuracy_coverage < 1
    path = write_json_atomic(tmp_path / "old.json", old)
    r = CliRunner().invoke(app, ["rescore", "--report", str(path)])
    assert r.exit_code == 0, r.output
    [new] = (tmp_path / "val").glob("*.json")
    doc = load_report(new)
    assert doc.rescored_from == "old.json"
    assert doc.artifact_created_at == art.created_at
    assert [p.measured_accuracy for p in doc.points] == [p.measured_accuracy for p in pts]
    assert [(p.predicted_peak_bytes, p.predicted_accuracy, p.accuracy_upper)
            for p in doc.points] == [(peak, mean, hi) for _, peak, mean, _, hi in rows]
    assert doc.memory_max_abs_rel_error == 0
    # already predicted by the served artifact: nothing written
    r = CliRunner().invoke(app, ["rescore", "--report", str(new)])
    assert "nothing to do" in r.output
    assert len(list((tmp_path / "val").glob("*.json"))) == 1
    other = old.model_copy(update={"model": "testbed-llama"})
    write_json_atomic(tmp_path / "other.json", other)
    r = CliRunner().invoke(app, ["rescore", "--report", str(tmp_path / "other.json")])
    assert r.exit_code == 2
    assert "testbed-llama.json: cannot be read" in r.stderr  # its artifact is not there


@pytest.mark.parametrize(("args", "needle"), [
    (["--context", "0"], "must be positive"),
    (["--context", "128", "--metric", "f1"], "no accuracy model"),
], ids=["context", "metric"])
def test_cli_validate_bad_input_is_one_line_exit_2(artifact, tiny_model_dir, monkeypatch,
                                                    args, needle):
    monkeypatch.setenv("KVPARETO_ARTIFACT_DIR", str(artifact[1]))
    r = CliRunner().invoke(app, ["validate", "--model", str(tiny_model_dir), *args])
    assert r.exit_code == 2
    assert needle in r.stderr


def test_validating_kl_adds_the_4bit_weights_own_kl_measured_on_the_validation_prompts(
        artifact, tiny_model_dir, tmp_path):
    """The artifact's KL of a 4-bit row includes the weights' own; a run's KL does not, so the
    measured side gets the weights' KL on the same validation prompts (real AWQ, real runs)."""
    from calibration.executors import LocalExecutor
    from calibration.validate import HELD_OUT_SEED, validate

    art, _ = artifact
    fit = art.accuracy["passkey"]["kl"]
    art = art.model_copy(deep=True)
    art.accuracy["passkey"]["kl"] = fit.model_copy(update={"weights_kl": {128: 0.5, 256: 0.5}})
    store = Store(str(tmp_path / "v.db"))
    query = FrontierQuery(128, "passkey", "kl", points=12)
    report = validate(art, tiny_model_dir, store, LocalExecutor(), query, n=2)
    runs = dict(store.runs(art.model))
    four = [p for p in report.points if p.config.startswith("w4")]
    assert four
    assert any(not p.config.startswith("w4") for p in report.points)
    own = store.weights_kl(art.model)[("w4", "passkey", 128, HELD_OUT_SEED, 2)]
    assert own > 0
    for p in report.points:
        run = runs[RunKey(art.model, p.config, 128, "passkey", HELD_OUT_SEED, 2)]
        added = own if p.config.startswith("w4") else 0.0
        assert p.measured_accuracy == pytest.approx(run.kl + added)

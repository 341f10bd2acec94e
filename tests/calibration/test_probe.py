"""`kvpareto probe` (memory only, under an attention implementation) and the runtime-profile
memory fits that `kvpareto fit --memory-db` makes from such stores."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from calibration.cli import app
from calibration.fitting import fit_memory, profile_fits
from calibration.store import Measurement, RunKey, Store
from models.memory import PROFILES, GridLedger, grid_arrays
from models.memory.runtimes import EAGER_SCORE_COPIES
from models.space import parse_config
from tests.calibration.test_fitting import SPEC, synthetic_phase_splits, synthetic_runs

EAGER = PROFILES["hf-eager-generate"]


def eager_truth():
    """Ledger-made truth for an eager runtime: its first principles, a fitted-looking spread."""
    coef = EAGER.first_principles()
    return type(coef)(coef.coefficients | {"hidden": 5.0, "eager_scores": 5.5},
                      overhead_bytes=4096)


def eager_store(tmp_path, attention="eager"):
    """A store of memory-only runs whose peaks are the eager truth's, fingerprinted."""
    truth = eager_truth()
    rows = synthetic_runs([128, 256, 512], truth)
    splits = synthetic_phase_splits(rows, truth)
    store = Store(f"sqlite:///{tmp_path / f'{attention}.db'}")
    store.model_id(SPEC.name, "synthetic")
    for (c, L, peak), split in zip(rows, splits, strict=True):
        m = Measurement(peak_bytes=peak, phase_bytes=split,
                        versions={"device": "cpu", "attention": attention, "dtype": "bf16",
                                  "kernel": "avx512_core_bf16"})
        store.record(RunKey(SPEC.name, c.id, L, "passkey", 0, 0), m)
    return store, truth


def test_an_eager_fit_finds_the_score_matrix_and_extrapolates(tmp_path):
    store, truth = eager_store(tmp_path)
    fits = profile_fits(SPEC, [store], SPEC.name, "cpu")
    assert list(fits) == ["hf-eager-generate"]
    fit = fits["hf-eager-generate"]
    assert fit.runtime == "cpu-eager-bf16-avx512_core_bf16"
    # the weak prior pulls toward the first-principles 4 copies; the data toward 5.5
    assert 5.0 < fit.coefficients["attention.eager_scores"] <= 5.5
    assert "attention.sdpa_block" not in fit.coefficients  # eager makes no kernel tile
    configs = [parse_config(i) for i in ("w16-k16v16-cfull", "w4-k4v2-token-ks-r0-c256")]
    far = GridLedger(SPEC, grid_arrays(configs), truth).at(4096).peak
    pred = GridLedger(SPEC, grid_arrays(configs), fit.to_coefficients()).at(4096).peak
    assert np.abs(pred / far - 1).max() < 0.05  # 8x the longest fitted length, prior included


def test_the_default_fit_never_sets_an_eager_term(tmp_path):
    store, _ = eager_store(tmp_path)
    fitter = fit_memory(SPEC, store.runs(SPEC.name, "ok", "cpu"), bound=False)
    assert not any("eager_scores" in k or "chunk_logits" in k for k in fitter.coef_)


def test_a_default_runtime_store_is_no_memory_db(tmp_path):
    store, _ = eager_store(tmp_path, attention="sdpa")
    with pytest.raises(ValueError, match="--memory-db takes stores of another attention"):
        profile_fits(SPEC, [store], SPEC.name, "cpu")


@pytest.mark.parametrize(("args", "needle"), [
    (["--attention", "flash"], "--attention must be one of sdpa, eager"),
    (["--runs", "0"], "--runs must be a positive integer"),
    (["--task", "gsm8k"], "unknown task 'gsm8k'"),
    (["--contexts", "0"], "--contexts must list positive integers"),
    (["--weights", "w8"], "--weights 'w8': allowed for"),
])
def test_probe_refuses_bad_options_in_one_line(tiny_model_dir, tmp_path, args, needle,
                                               one_line_error):
    r = CliRunner().invoke(app, ["probe", "--model", str(tiny_model_dir), *args,
                                 "--db", str(tmp_path / "runs.db")])
    one_line_error(r, needle)


@pytest.mark.slow
def test_probe_measures_eager_peaks_and_keeps_attentions_apart(tiny_model_dir, tmp_path,
                                                               one_line_error):
    db = tmp_path / "eager.db"
    r = CliRunner().invoke(app, ["probe", "--model", str(tiny_model_dir), "--contexts", "96",
                                 "--runs", "2", "--db", str(db)])
    assert r.exit_code == 0, r.output
    runs = Store(f"sqlite:///{db}").runs(tiny_model_dir.name, "ok", "cpu")
    assert len(runs) == 2
    assert all(m.versions["attention"] == "eager" and k.n == 0 for k, m in runs)
    assert all(m.peak_bytes and m.phase_bytes and m.exact_match is None for _, m in runs)
    # one-pass eager holds heads × L × L scores that a fused kernel never makes
    from calibration.measurement import measure

    eager = next(m for k, m in runs if k.config == "w16-k16v16-cfull")
    sdpa = measure(str(tiny_model_dir), "w16-k16v16-cfull", "kv_retrieval", 96, 0, 0)
    scores = EAGER_SCORE_COPIES * 96 * 96 * 4 * 2
    assert eager.phase_bytes["attention"] - sdpa.phase_bytes["attention"] > 0.5 * scores
    # the same store refuses probes under another attention (run keys do not name it)
    r = CliRunner().invoke(app, ["probe", "--model", str(tiny_model_dir), "--contexts", "96",
                                 "--runs", "2", "--attention", "sdpa", "--db", str(db)])
    one_line_error(r, "already holds runs of")

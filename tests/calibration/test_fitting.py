"""Fitting: memory coefficients recovered from ledger-made peaks, K/V error table, artifact."""

import numpy as np
import pytest

from calibration.fitting import MemoryFitter, build_artifact, fit_accuracy
from calibration.sampler import pool
from calibration.store import Measurement, RunKey, Store
from models.artifact import load_artifact, write_json_atomic
from models.memory import (
    DEFAULT_COEFFICIENTS,
    GridLedger,
    MemoryCoefficients,
    grid_arrays,
    ledger,
    ledger_grid,
)
from models.space import STUDY_KV_PAIRS, full_grid
from models.specs import load_spec

SPEC = load_spec("Qwen2.5-0.5B-Instruct")
# Every L-dependent phase (attention, AWQ, MLP) makes the peak of some training runs.
TRUE = MemoryCoefficients({"hidden": 5.0, "mlp": 2.0, "scores": 0.5, "kv_layer": 1.5,
                           "kv_repeat": 1.0, "kv_dequant": 1.0, "pack_work": 3.0,
                           "quant_work": 1.0, "smooth_work": 1.0, "logits": 1.0,
                           "awq_dequant": 1.0}, overhead_bytes=4096)


# below 512 keys the kernel tile is collinear with the context terms: known, not fitted
FIXED = {"sdpa_block": 0.0}


def synthetic_runs(contexts, truth=TRUE):
    configs = pool(SPEC, pairs=STUDY_KV_PAIRS)[::7]  # the grid these truths were written for
    rows = []
    for L in contexts:
        peaks = ledger_grid(SPEC, grid_arrays(configs), L, truth).peak
        rows += [(c, L, int(p)) for c, p in zip(configs, peaks, strict=True)]
    return rows


def synthetic_phase_splits(rows, truth):
    """What the probe records: per phase, weights + KV + that phase's terms + overhead."""
    out = []
    for c, L, _ in rows:
        led = ledger(SPEC, c, L, truth)
        fixed = led.terms["weights"] + led.terms["kv_cache"] + truth.overhead_bytes
        peaks = GridLedger(SPEC, grid_arrays([c]), truth).phase_peaks(L)
        out.append({p: fixed + int(v[0]) for p, v in peaks.items()
                    if p != "awq_dequant" or c.weights.bits == 4})
    return out


def test_memory_fit_recovers_coefficients_and_extrapolates():
    rows = synthetic_runs([128, 256, 512])
    fit = MemoryFitter(SPEC, fixed=FIXED).fit(*zip(*rows, strict=True))
    # hidden ∝ mlp, kv_layer ∝ kv_repeat, logits ∝ overhead: check predictions, not terms
    assert np.abs(fit.residuals_).max() < 1e-6
    far = synthetic_runs([4096])
    pred = fit.predict([c for c, _, _ in far], 4096)
    assert np.abs(pred / np.array([p for *_, p in far]) - 1).max() < 1e-5
    assert all(v >= 0 for v in fit.coef_.values())
    art = fit.to_fit("cpu-sdpa")
    assert art.n_runs == len(rows)
    assert art.form == "phases"
    again = MemoryFitter(SPEC, fixed=FIXED).fit(*zip(*rows, strict=True))  # seeded multi-start
    assert again.coef_ == fit.coef_
    assert again.overhead_ == fit.overhead_


def test_memory_fit_is_a_max_of_phases_not_a_sum():
    """Peaks made by a max of phases: the additive form could not fit them to 1e-6."""
    rows = synthetic_runs([128, 256, 512])
    fit = MemoryFitter(SPEC, fixed=FIXED).fit(*zip(*rows, strict=True))
    configs, contexts, peaks = zip(*rows, strict=True)
    ledger = ledger_grid(SPEC, grid_arrays(list(configs)), np.array(contexts),
                         fit.to_fit("cpu-sdpa").to_coefficients())
    assert np.abs(ledger.peak / np.array(peaks) - 1).max() < 1e-6
    every_term = sum(sum(terms.values()) for terms in ledger.phases.values())
    assert (ledger.transient_total < every_term).any()


def test_phase_split_fit_gives_each_phase_its_own_coefficients():
    """Per-phase truths (the residual stream differs between the LM head and the MLP) are
    found from the probe's split, phase by phase, and extrapolate 8x, remainders included."""
    truth = MemoryCoefficients(TRUE.coefficients | {"logits.hidden": 1.0, "mlp.hidden": 2.0,
                                                    "attention.mask": 3.0, "mask": 1.0},
                               overhead_bytes=4096)
    rows = synthetic_runs([256, 384, 512], truth)  # 384 in chunks of 256 ends in a remainder
    exact = MemoryFitter(SPEC, fixed=FIXED, prior=0.0)  # no pull toward the defaults
    fit = exact.fit(*zip(*rows, strict=True), synthetic_phase_splits(rows, truth))
    assert fit.coef_["logits.hidden"] == pytest.approx(1.0, rel=1e-6)
    far = synthetic_runs([4096, 4000], truth)
    pred = fit.predict([c for c, _, _ in far], [L for _, L, _ in far])
    assert np.abs(pred / np.array([p for *_, p in far]) - 1).max() < 1e-6
    split_blind = MemoryFitter(SPEC, fixed=FIXED).fit(*zip(*rows, strict=True))
    blind = split_blind.predict([c for c, _, _ in far], [L for _, L, _ in far])
    assert np.abs(blind / np.array([p for *_, p in far]) - 1).max() > 1e-3


def test_kv_error_covers_every_applicable_side_of_the_service_grid(tiny_model_dir):
    from calibration.engine.loading import load_model
    from calibration.kv_error import measure_kv_error
    from calibration.measurement import probe_ids
    from models.memory import compatible

    model = load_model(tiny_model_dir)
    table = measure_kv_error(model, probe_ids(str(tiny_model_dir), "passkey", 128, 0))
    spec = load_spec(str(tiny_model_dir))
    sides = {c.kv.side_key(s) for c in compatible(spec, full_grid()) for s in "kv"} - {None}
    assert sides == set(table)
    assert table["k2-tensor"] > table["k4-tensor"] > table["k8-tensor"] > 0
    assert table["v4-block32"] < table["v4-token"]


def test_artifact_from_the_store_round_trips(tmp_path, tiny_model_dir):
    store = Store(str(tmp_path / "s.db"))
    name = tiny_model_dir.name
    spec = load_spec(str(tiny_model_dir))
    configs = pool(spec)[::11]
    table = {c.kv.side_key(s): 0.05 * (1 + i % 3) for i, c in enumerate(configs) for s in "kv"}
    table.pop(None, None)
    store.save_kv_error(name, "cpu", table)
    for L in (128, 256):
        peaks = ledger_grid(spec, grid_arrays(configs), L, TRUE).peak
        for c, p in zip(configs, peaks, strict=True):
            err = sum(table.get(c.kv.side_key(s), 0.0) for s in "kv")
            store.record(RunKey(name, c.id, L, "passkey", 0, 8), Measurement(
                peak_bytes=int(p), exact_match=1 - err, answer_nll=0.1 + err, kl=err ** 2))
    for L, kl in ((128, 0.05), (256, 0.07)):  # the 4-bit weights' own KL, and another id's
        store.save_weights_kl(name, "cpu", ("w4", "passkey", L, 0, 8), kl)
        store.save_weights_kl(name, "cpu", ("w4g64", "passkey", L, 0, 8), 9.0)
    art = build_artifact(store, name, tiny_model_dir)
    assert set(art.accuracy["passkey"]) == {"exact_match", "answer_nll", "kl"}
    assert art.accuracy["passkey"]["kl"].weights_kl == {128: 0.05, 256: 0.07}
    assert art.accuracy["passkey"]["kl"].weights_kl_groups == {
        128: {128: 0.05, 256: 0.07}, 64: {128: 9.0, 256: 9.0}}  # each group its own table
    assert art.accuracy["passkey"]["kl"].weights_kl_se is None  # no spread was stored
    assert art.accuracy["passkey"]["answer_nll"].weights_kl is None
    assert art.calibrated_contexts == [128, 256]
    assert art.memory.n_runs == 2 * len(configs)
    path = write_json_atomic(tmp_path / f"{name}.json", art)
    assert load_artifact(path) == art
    assert fit_accuracy(store.runs(name), table, "needle") == {}


def test_fit_without_runs_is_a_clear_error(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match="no successful runs"):
        build_artifact(Store(str(tmp_path / "e.db")), "x", tiny_model_dir)


def test_cli_calibrate_then_fit_writes_a_loadable_artifact(tiny_model_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from calibration.cli import app

    monkeypatch.setenv("KVPARETO_ARTIFACT_DIR", str(tmp_path / "art"))
    db = str(tmp_path / "c.db")
    r = CliRunner().invoke(app, ["calibrate", "--model", str(tiny_model_dir), "--contexts",
                                 "96,128", "--tasks", "passkey", "--budget-runs", "16", "--n",
                                 "4", "--anchor-contexts", "256", "--memory-contexts", "112",
                                 "--db", db])
    assert r.exit_code == 0, r.output
    runs = Store(db).runs(tiny_model_dir.name, None)
    probes = [(k, m) for k, m in runs if k.context_tokens == 112]
    configs = {k.config for k, _ in runs if k.context_tokens != 112}
    assert {k.config for k, _ in probes} == configs  # every configuration, memory only
    assert all(k.n == 0 and m.peak_bytes and m.exact_match is None for k, m in probes)
    runs = [(k, m) for k, m in runs if k.context_tokens != 112]
    assert 13 <= len(runs) <= 17
    anchors = [k for k, _ in runs if k.context_tokens == 256]
    assert [k.config for k in anchors] == ["w16-k16v16-cfull"]  # the 16-bit baseline only
    assert all(m.phase_bytes and max(m.phase_bytes.values()) == m.peak_bytes
               for _, m in runs if m.status == "ok")
    r = CliRunner().invoke(app, ["fit", "--model", str(tiny_model_dir), "--db", db,
                                 "--out-dir", str(tmp_path / "art")])
    assert r.exit_code == 0, r.output
    art = load_artifact(tmp_path / "art" / f"{tiny_model_dir.name}.json")
    assert art.memory is not None
    assert "passkey" in art.accuracy
    assert art.calibrated_contexts == [96, 128]  # an anchor is not a calibrated length
    ran = {int(k.config.split("-")[0][1:].split("g")[0]) for k, _ in runs}
    assert art.weight_bits == sorted(ran)  # what the accuracy runs used, and only that
    fit = art.accuracy["passkey"]["exact_match"]
    assert 256 in fit.baseline
    assert fit.contexts == [96, 128]
    assert fit.samples == 4
    assert any("." in k for k in art.memory.coefficients)  # fitted phase by phase
    if any(k.config.startswith("w4") for k, _ in runs):  # the 4-bit weights' own KL, measured
        wkl = Store(db).weights_kl(tiny_model_dir.name)
        assert {(w, L) for w, _, L, _, _ in wkl} == {("w4", L) for L in (96, 128, 256)}
        assert set(art.accuracy["passkey"]["kl"].weights_kl or {}) == {96, 128, 256}


def test_cli_anchors_mode_finishes_a_stopped_sweep_without_new_configurations(tiny_model_dir,
                                                                                 tmp_path):
    """A sweep stopped before its budget gets its 16-bit anchors, their spread and the memory
    probes of the configurations it did run, and nothing else."""
    from typer.testing import CliRunner

    from calibration.cli import app

    db = str(tmp_path / "a.db")
    base = ["calibrate", "--model", str(tiny_model_dir), "--contexts", "96,128", "--tasks",
            "passkey", "--n", "2", "--db", db]
    r = CliRunner().invoke(app, [*base, "--budget-runs", "4", "--group", "2"])
    assert r.exit_code == 0, r.output
    before = {k for k, _ in Store(db).runs(tiny_model_dir.name, None)}
    r = CliRunner().invoke(app, [*base, "--mode", "anchors", "--anchor-contexts", "256",
                                 "--anchor-seeds", "1", "--memory-contexts", "112"])
    assert r.exit_code == 0, r.output
    added = {k for k, _ in Store(db).runs(tiny_model_dir.name, None)} - before
    scored = {(k.config, k.context_tokens, k.seed) for k in added if k.n > 0}
    assert scored == {("w16-k16v16-cfull", L, s) for L, s in
                      [(256, 0), (96, 1), (128, 1), (256, 1)]}
    probes = {k.config for k in added if k.n == 0}
    assert all(k.context_tokens == 112 for k in added if k.n == 0)
    assert probes == {k.config for k in before}  # every configuration run, memory only


@pytest.mark.parametrize(("args", "needle"), [
    (["--contexts", "a,b"], "comma-separated"),
    (["--tasks", "sudoku"], "unknown task"),
    (["--tasks", "passkey,kv_retrieval:n_records=many"], "n_records must be an integer"),
    (["--tasks", "kv_retrieval:records=8"], "has no setting 'records'"),
    (["--mode", "greedy"], "active, exhaustive, anchors"),
    (["--executor", "dask"], "local, ray"),
    (["--anchor-seeds", "0"], "differ from --seed"),
    (["--anchor-seeds", "one"], "take integers"),
], ids=["contexts", "task", "task-setting-text", "task-setting-unknown", "mode", "executor",
        "anchor-seed-is-the-seed", "anchor-seed-text"])
def test_cli_calibrate_bad_input_is_one_line_exit_2(tiny_model_dir, args, needle):
    from typer.testing import CliRunner

    from calibration.cli import app

    r = CliRunner().invoke(app, ["calibrate", "--model", str(tiny_model_dir), *args])
    assert r.exit_code == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_prior_decides_what_short_runs_cannot():
    """At 256 and 512 tokens the GQA repeat, the dequantized copy and a constant grow alike in
    the attention phase; peaks made with the first-principles coefficients are fitted by many
    splits, and the prior keeps the one that also holds at 8x the context."""
    truth = MemoryCoefficients(dict(DEFAULT_COEFFICIENTS), overhead_bytes=4096)
    rows = synthetic_runs([256, 512], truth)
    rng = np.random.default_rng(0)  # allocator slack: ±0.5% on every measured phase
    splits = [{p: int(v * (1 + 0.005 * rng.standard_normal())) for p, v in s.items()}
              for s in synthetic_phase_splits(rows, truth)]
    far = synthetic_runs([4096], truth)

    def far_error(prior):
        fit = MemoryFitter(SPEC, fixed=FIXED, prior=prior).fit(*zip(*rows, strict=True), splits)
        assert np.median(np.abs(fit.residuals_)) < 0.01
        pred = fit.predict([c for c, _, _ in far], 4096)
        return np.abs(pred / np.array([p for *_, p in far]) - 1).max()

    assert far_error(0.1) < min(far_error(0.0), 0.005)


def test_another_prompt_seed_adds_no_memory_point_but_its_anchor_is_fitted():
    """The anchors' other prompt sets (`Campaign.anchor_spread`): the same prefill has the same
    peak, so the memory fit keeps one per (config, length, task, n); the accuracy fit keeps the
    16-bit runs of every set, serves their median and their spread, and pairs each quantized run
    with the 16-bit run on its own prompts."""
    from calibration.fitting import memory_runs

    quantized = [c for c in full_grid() if not c.kv.is_baseline][::97][:40]
    table = {k: 0.6 * 2.0 ** -int(k[1]) for c in quantized
             for k in (c.kv.side_key("k"), c.kv.side_key("v")) if k}
    rows = []
    for seed, base16 in ((0, 1.0), (1, 0.875)):
        for L in (256, 512):
            rows.append((RunKey("m", "w16-k16v16-cfull", L, "passkey", seed, 64),
                         Measurement(peak_bytes=1000 + L, exact_match=base16, kl=0.0)))
    for c in quantized:
        kl = sum(table.get(k or "", 0.0) ** 2 for k in (c.kv.side_key("k"), c.kv.side_key("v")))
        for L in (256, 512):
            rows.append((RunKey("m", c.id, L, "passkey", 0, 64),
                         Measurement(peak_bytes=2000 + L, exact_match=round(64 * max(
                             0.0, 1.0 - 2 * kl * L / 256)) / 64, kl=kl * L / 256 + 1e-4)))
    kept, _ = memory_runs(rows)
    assert len(kept) == len(rows) - 2
    assert {k.seed for k, _ in kept} == {0}
    fit = fit_accuracy(rows, table, "passkey", metrics={"exact_match": "accuracy"})
    em = fit["exact_match"]
    assert em.baseline[512] == pytest.approx((1.0 + 0.875) / 2)
    assert em.baseline_spread is not None
    assert em.baseline_spread[512] > 0.1
    assert em.logit_scale is not None
    assert em.n_runs == len(rows) - 2  # the other set's 16-bit runs are anchors only

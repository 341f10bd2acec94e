"""Frontier, recommendation and capacity through the TestClient, checked against the maths.

Calibrated model = synthetic artifact; uncalibrated model = memory-only answers.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.memory import GIB, ledger
from models.space import parse_config
from models.specs import load_spec
from service.testing.synthetic import CALIBRATED, UNCALIBRATED


def frontier(client, **body):
    r = client.post("/v1/frontier", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_frontier_points_are_the_pareto_set_of_all_points(shared_client):
    res = frontier(shared_client, model=CALIBRATED, context_tokens=8192, budget_gib=12,
                   include_points=True)
    assert res["accuracy_source"] == "artifact"
    assert res["task"] == "passkey"
    pts = res["points"]
    mem = np.array(pts["peak_gib"])
    acc = np.array(pts["mean"], dtype=float)
    fits = np.array(pts["fits"])
    front = {p["config"] for p in res["frontier"]}
    assert len(front) + res["dominated"] + res["unpredictable"] == res["fitting"] == fits.sum()
    for i in np.flatnonzero(fits):
        better = fits & (mem <= mem[i]) & (acc >= acc[i]) & ((mem < mem[i]) | (acc > acc[i]))
        # GiB rounding to 1e-6 can merge distinct byte counts: allow ties there
        assert (pts["config"][i] in front) == (not better.any()) or np.isclose(
            mem[better], mem[i], atol=2e-6).any()
    peaks = [p["memory"]["peak_gib"] for p in res["frontier"]]
    accs = [p["accuracy"]["mean"] for p in res["frontier"]]
    assert peaks == sorted(peaks)
    assert accs == sorted(accs)
    assert max(peaks) <= 12


def test_frontier_point_fields(shared_client):
    res = frontier(shared_client, model=CALIBRATED, context_tokens=1024)
    base = res["baseline"]
    assert base["config"] == "w16-k16v16-cfull"
    assert base["drop_vs_baseline"] == pytest.approx(0)
    for p in res["frontier"]:
        a, m = p["accuracy"], p["memory"]
        assert a["lower"] <= a["mean"] <= a["upper"]
        assert a["coverage"] == pytest.approx(0.9)
        assert m["peak_bytes"] == sum(m[k] for k in (
            "weights_bytes", "kv_cache_bytes", "transient_bytes", "overhead_bytes"))
        saved = base["memory"]["peak_bytes"] - m["peak_bytes"]
        assert p["memory_saved_gib"] == pytest.approx(saved / GIB)
        assert p["drop_vs_baseline"] == pytest.approx(base["accuracy"]["mean"] - a["mean"])
        assert p["extrapolated"] is False  # 1024 is inside the calibrated 512..2048
    assert frontier(shared_client, model=CALIBRATED, context_tokens=16384)["frontier"][0][
        "extrapolated"] is True


def test_memory_only_model_never_invents_accuracy(shared_client):
    res = frontier(shared_client, model=UNCALIBRATED, context_tokens=32768, budget_gib=10,
                   limit=50)
    assert res["accuracy_source"] == "none"
    assert res["dominated"] is None
    assert all(p["accuracy"] is None and p["drop_vs_baseline"] is None for p in res["frontier"])
    peaks = [p["memory"]["peak_bytes"] for p in res["frontier"]]
    assert peaks == sorted(peaks)
    assert len(peaks) == 50
    assert res["truncated"] == res["fitting"] - 50
    spec = load_spec(UNCALIBRATED)
    first = res["frontier"][0]
    assert first["memory"]["peak_bytes"] == ledger(spec, parse_config(first["config"]),
                                                    32768).peak_bytes


def test_filters_restrict_the_grid(shared_client):
    res = frontier(shared_client, model=CALIBRATED, context_tokens=4096, weights=["w4"],
                   k_bits=[8, 4], v_bits=[4])
    assert res["evaluated"] > 0
    for p in res["frontier"]:
        c = parse_config(p["config"])
        assert c.weights.id == "w4"
        assert c.kv.k_bits in (8, 4)
        assert c.kv.v_bits == 4


def test_recommend_best_under_budget_and_floor(shared_client):
    body = {"model": CALIBRATED, "context_tokens": 8192, "budget_gib": 9, "max_drop": 0.05}
    r = shared_client.post("/v1/recommend", json=body).json()
    assert r["feasible"] is True
    assert r["reason"] is None
    rec = r["recommendation"]
    assert rec["memory"]["peak_gib"] <= 9
    assert rec["drop_vs_baseline"] <= 0.05
    front = frontier(shared_client, model=CALIBRATED, context_tokens=8192, budget_gib=9)
    assert rec["accuracy"]["mean"] == pytest.approx(
        max(p["accuracy"]["mean"] for p in front["frontier"]))


def test_recommend_refusals_are_clear(shared_client):
    tiny = shared_client.post("/v1/recommend", json={
        "model": CALIBRATED, "context_tokens": 8192, "budget_gib": 1}).json()
    assert tiny["feasible"] is False
    assert tiny["recommendation"] is None
    assert tiny["reason"].startswith("nothing fits in 1 GiB at 8192 tokens: the smallest")
    assert "GiB" in tiny["reason"]
    high = shared_client.post("/v1/recommend", json={
        "model": CALIBRATED, "context_tokens": 8192, "budget_gib": 6.5,
        "accuracy_floor": 0.999}).json()
    assert high["feasible"] is False
    assert "none is predicted to meet accuracy_floor" in high[
        "reason"]
    assert "the best that fits is" in high["reason"]
    mem_only = shared_client.post("/v1/recommend", json={
        "model": UNCALIBRATED, "context_tokens": 8192, "budget_gib": 20}).json()
    assert mem_only["feasible"] is False
    assert "no calibration artifact" in mem_only["reason"]


def test_capacity_finds_the_longest_context(shared_client):
    body = {"model": CALIBRATED, "budget_gib": 8, "max_drop": 0.1}
    r = shared_client.post("/v1/capacity", json=body).json()
    assert r["feasible"] is True, r
    ctx, rec = r["context_tokens"], r["recommendation"]
    assert rec["memory"]["peak_gib"] <= 8
    assert rec["drop_vs_baseline"] <= 0.1 + 1e-9
    # a little more context no longer fits that configuration, or the answer is the ceiling
    nxt = shared_client.post("/v1/memory", json={
        "model": CALIBRATED, "config": rec["config"], "context_tokens": ctx + 1}).json()
    assert nxt["peak_gib"] > 8 or ctx == r["max_context_tokens"] or r["warnings"]
    loose = shared_client.post("/v1/capacity", json={"model": CALIBRATED, "budget_gib": 8}).json()
    assert loose["context_tokens"] >= ctx


def test_capacity_memory_only_and_refusals(shared_client):
    r = shared_client.post("/v1/capacity", json={"model": UNCALIBRATED, "budget_gib": 8}).json()
    assert r["feasible"]
    assert r["recommendation"]["accuracy"] is None
    cfg = r["recommendation"]["config"]
    spec = load_spec(UNCALIBRATED)
    assert ledger(spec, parse_config(cfg), r["context_tokens"]).peak_bytes <= 8 * GIB
    if r["context_tokens"] < r["max_context_tokens"]:
        assert ledger(spec, parse_config(cfg), r["context_tokens"] + 1).peak_bytes > 8 * GIB
    r = shared_client.post("/v1/capacity", json={
        "model": UNCALIBRATED, "budget_gib": 8, "accuracy_floor": 0.5}).json()
    assert not r["feasible"]
    assert "cannot be checked" in r["reason"]
    r = shared_client.post("/v1/capacity", json={"model": CALIBRATED, "budget_gib": 0.5}).json()
    assert not r["feasible"]
    assert r["reason"].startswith("nothing fits in 0.5 GiB")


def test_a_16bit_model_that_changes_beyond_the_calibration_is_warned_of(settings):
    """An answer-NLL model whose 16-bit anchor jumps past the calibrated lengths (the testbed's
    1,024 tokens) makes extrapolated answers say so; inside the range they do not."""
    from fastapi.testclient import TestClient

    from models.artifact import artifact_path, load_artifact, write_json_atomic
    from service.main import create_app

    path = artifact_path(settings.artifact_dir, CALIBRATED)
    art = load_artifact(path)
    em = art.accuracy["passkey"]["exact_match"]
    top = max(em.contexts)
    nll = em.model_copy(update={"metric": "answer_nll", "kind": "loss", "floor": 0.01,
                                "baseline": {min(em.contexts): 0.001, top: 0.001,
                                             2 * top: 0.1}})
    art.accuracy["passkey"]["answer_nll"] = nll
    write_json_atomic(path, art)
    with TestClient(create_app(settings)) as c:
        beyond = frontier(c, model=CALIBRATED, context_tokens=2 * top)
        inside = frontier(c, model=CALIBRATED, context_tokens=top)
    assert any("16-bit model itself changes" in w and f"at {2 * top} tokens" in w
               for w in beyond["warnings"])
    assert not any("16-bit model itself" in w for w in inside["warnings"])


def test_a_kl_answer_says_when_it_does_not_see_the_weights(client, settings):
    """Runs' KL is measured against their own weights: without the 4-bit weights' own KL in
    the artifact, a KL frontier must say AWQ is not in it."""
    from models.artifact import artifact_path, load_artifact, write_json_atomic

    path = artifact_path(settings.artifact_dir, CALIBRATED)
    art = load_artifact(path)
    em = art.accuracy["passkey"]["exact_match"]
    art.accuracy["passkey"]["kl"] = em.model_copy(update={
        "metric": "kl", "kind": "loss", "floor": 0.01, "link_x": None, "link_y": None,
        "extra_coef": None, "interval_bins": None, "samples": None,
        "baseline": {L: 0.0 for L in em.baseline}})
    write_json_atomic(path, art)
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer test-admin-token"}
                       ).status_code == 200
    kl = frontier(client, model=CALIBRATED, context_tokens=1024, metric="kl")
    em_answer = frontier(client, model=CALIBRATED, context_tokens=1024)
    assert any("not the weights'" in w for w in kl["warnings"])
    assert not any("not the weights'" in w for w in em_answer["warnings"])
    # an artifact with the weights' own KL measured adds it, and needs no warning
    art.accuracy["passkey"]["kl"] = art.accuracy["passkey"]["kl"].model_copy(
        update={"weights_kl": {512: 0.1, 2048: 0.2}})
    write_json_atomic(path, art)
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer test-admin-token"}
                       ).status_code == 200
    added = frontier(client, model=CALIBRATED, context_tokens=1024, metric="kl")
    assert not any("not the weights'" in w for w in added["warnings"])
    assert added["baseline"]["accuracy"]["mean"] == pytest.approx(0.0, abs=1e-6)

"""Runtime profiles in the API: every answer names its runtime; a runtime without a fitted
memory model answers with first-principles terms and says so; a fitted one is used for it."""

from __future__ import annotations

import json

import pytest

from models.artifact import MemoryFit, artifact_path, load_artifact, write_json_atomic
from models.memory import DEFAULT_RUNTIME, PROFILES, RUNTIME_NAMES
from service.testing.synthetic import CALIBRATED, UNCALIBRATED


def frontier(client, **extra):
    body = {"model": CALIBRATED, "context_tokens": 1024} | extra
    r = client.post("/v1/frontier", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_runtimes_are_listed_with_the_default(shared_client):
    listed = shared_client.get("/v1/runtimes").json()["runtimes"]
    assert [r["name"] for r in listed] == list(RUNTIME_NAMES)
    assert [r["name"] for r in listed if r["default"]] == [DEFAULT_RUNTIME]


def test_the_default_runtime_is_named_and_fitted(shared_client):
    res = frontier(shared_client)
    assert res["runtime"] == DEFAULT_RUNTIME
    assert res["memory_coefficients"] == "fitted"
    assert res["memory_runtime"] == "synthetic"


def test_another_runtime_is_first_principles_and_says_so(shared_client):
    res = frontier(shared_client, runtime="hf-eager")
    assert res["runtime"] == "hf-eager"
    assert res["memory_coefficients"] == "default"
    assert res["memory_runtime"] is None
    assert res["memory_bound_factor"] == 1.0
    assert any("runtime hf-eager use first-principles" in w and "hf-sdpa only" in w
               for w in res["warnings"])


def test_eager_attention_costs_more_than_sdpa_without_chunking(shared_client):
    sdpa = frontier(shared_client, model=UNCALIBRATED, context_tokens=32768)
    eager = frontier(shared_client, model=UNCALIBRATED, context_tokens=32768,
                     runtime="hf-eager")
    assert eager["baseline"]["memory"]["peak_bytes"] > 2 * sdpa["baseline"]["memory"][
        "peak_bytes"]
    assert eager["baseline"]["memory"]["weights_bytes"] == sdpa["baseline"]["memory"][
        "weights_bytes"]


def test_memory_capacity_and_recommend_take_the_runtime(shared_client):
    mem = shared_client.post("/v1/memory", json={
        "model": UNCALIBRATED, "context_tokens": 8192, "config": "w16-k16v16-cfull",
        "runtime": "flash-cuda"}).json()
    assert mem["runtime"] == "flash-cuda"
    terms = {t["term"]: t["bytes"] for t in mem["terms"]}
    assert terms["runtime_overhead"] == PROFILES["flash-cuda"].overhead_bytes
    cap = {rt: shared_client.post("/v1/capacity", json={
        "model": UNCALIBRATED, "budget_gib": 24, "runtime": rt}).json()
        for rt in ("hf-sdpa", "hf-eager")}
    assert cap["hf-eager"]["runtime"] == "hf-eager"
    assert cap["hf-eager"]["recommendation"]["memory"]["peak_gib"] <= 24
    rec = shared_client.post("/v1/recommend", json={
        "model": CALIBRATED, "context_tokens": 1024, "budget_gib": 20,
        "runtime": "flash"}).json()
    assert rec["runtime"] == "flash"
    assert rec["memory_coefficients"] == "default"


@pytest.mark.parametrize("bad", ["vllm", "", 3, None.__class__.__name__])
def test_an_unknown_runtime_is_refused_naming_the_profiles(shared_client, bad):
    r = shared_client.post("/v1/frontier", json={
        "model": CALIBRATED, "context_tokens": 1024, "runtime": bad})
    assert r.status_code == 422
    assert "hf-eager" in r.text


def test_an_artifact_fit_for_a_runtime_is_used_for_it(client, settings):
    path = artifact_path(settings.artifact_dir, CALIBRATED)
    art = load_artifact(path)
    assert art.memory is not None
    eager_fit = MemoryFit(runtime="cpu-eager-bf16-test", coefficients=dict(
        PROFILES["hf-eager-generate"].first_principles().coefficients),
        overhead_bytes=123, contexts=[512, 1024], residuals=[0.02, -0.01], n_runs=2,
        bound_factor=1.02)
    write_json_atomic(path, art.model_copy(update={
        "memory_profiles": {"hf-eager-generate": eager_fit}}))
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer test-admin-token"}
                       ).status_code == 200
    res = frontier(client, runtime="hf-eager-generate")
    assert res["memory_coefficients"] == "fitted"
    assert res["memory_runtime"] == "cpu-eager-bf16-test"
    assert res["memory_bound_factor"] == 1.02
    assert res["baseline"]["memory"]["overhead_bytes"] == 123
    info = next(m for m in client.get("/v1/models").json()["models"] if m["name"] == CALIBRATED)
    assert info["calibration"]["memory_profiles"] == ["hf-eager-generate"]
    other = frontier(client, runtime="hf-eager")  # whole-chunk logits: not what was fitted
    assert other["memory_coefficients"] == "default"


def test_an_artifact_with_a_broken_runtime_fit_is_refused(client, settings):
    path = artifact_path(settings.artifact_dir, CALIBRATED)
    raw = json.loads(path.read_text())
    # an attention-phase constant eaten by a negative GQA-copy term: a peak that falls with L
    bad = dict(raw["memory"]) | {"coefficients": {"attention.const": 1e11,
                                                  "attention.kv_repeat": -1e4}}
    raw["memory_profiles"] = {"hf-eager": bad}
    path.write_text(json.dumps(raw))
    r = client.post("/v1/admin/reload", headers={"authorization": "Bearer test-admin-token"})
    assert r.status_code == 409
    assert "memory_profiles[hf-eager] fit gives a 16-bit peak that falls" in r.text
    raw["memory_profiles"] = {"hf-sdpa": raw["memory"]}  # the default's fit is `memory`
    path.write_text(json.dumps(raw))
    r = client.post("/v1/admin/reload", headers={"authorization": "Bearer test-admin-token"})
    assert r.status_code == 409
    assert "not a runtime profile other than the default" in r.text

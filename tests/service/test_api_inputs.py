"""Input handling: 422 with field-level messages, 404 for unknown models, 413 for big bodies.

Also the memory ledger endpoint against `models.memory.ledger`.
"""

from __future__ import annotations

import pytest

from models.memory import ledger
from models.space import parse_config
from models.specs import load_spec
from service.testing.synthetic import CALIBRATED, UNCALIBRATED


@pytest.mark.parametrize("model", [CALIBRATED, UNCALIBRATED])
def test_memory_ledger_matches_models(shared_client, model):
    body = {"model": model, "config": "w4-k4v2-block64-ks-r0-c256", "context_tokens": 10000}
    r = shared_client.post("/v1/memory", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    terms = {t["term"]: t for t in res["terms"]}
    assert terms["weights"]["exact"]
    assert terms["kv_cache"]["exact"]
    assert not terms["runtime_overhead"]["exact"]
    assert res["coefficients"] == ("fitted" if model == CALIBRATED else "default")
    if model == UNCALIBRATED:
        expected = ledger(load_spec(model), parse_config(body["config"]), 10000)
        assert {k: t["bytes"] for k, t in terms.items()} == expected.terms
        assert res["transient_peak_bytes"] == expected.transient_peak
        assert res["transient_phase"] == expected.dominant_phase
        assert res["transient_phases"] == expected.phases
    transient = sum(t["bytes"] for t in res["terms"] if t["term"].startswith("transient."))
    # the dominant phase's terms, each rounded to a byte
    assert 0 < res["transient_peak_bytes"]
    assert abs(res["transient_peak_bytes"] - transient) <= 16
    assert abs(res["transient_peak_bytes"] - max(res["transient_phases"].values())) <= 16
    assert res["peak_bytes"] == (terms["weights"]["bytes"] + terms["kv_cache"]["bytes"]
                                 + res["transient_peak_bytes"] + terms["runtime_overhead"]["bytes"])


@pytest.mark.parametrize(("config", "needle"), [
    ("w4-k4v2", "expected w16|w4"),
    ("w4-k3v2-token-r0-c256", "K bits must be one of 16, 8, 4, 2"),
    ("w4-k4v2-token-r0-c256 ", None),  # trailing blank: canonicalised, accepted
    ("w4-k4v2-block48-r0-c256", "block group size must be one of 32, 64, 128"),
])
def test_bad_config_ids_are_422_with_the_format(shared_client, config, needle):
    r = shared_client.post("/v1/memory", json={
        "model": CALIBRATED, "config": config, "context_tokens": 100})
    if needle is None:
        assert r.status_code == 200
        return
    assert r.status_code == 422
    err = r.json()["detail"][0]
    assert err["loc"] == ["body", "config"]
    assert needle in err["msg"]


def test_unknown_model_is_404_listing_models(shared_client):
    r = shared_client.post("/v1/frontier", json={"model": "GPT-5", "context_tokens": 100})
    assert r.status_code == 404
    assert CALIBRATED in r.json()["detail"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "x" * 200, ""])
def test_model_names_cannot_be_paths(shared_client, name):
    r = shared_client.post("/v1/frontier", json={"model": name, "context_tokens": 100})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "model"]


@pytest.mark.parametrize(("body", "loc", "needle"), [
    ({"context_tokens": 0}, ["body", "context_tokens"], "greater than 0"),
    ({"context_tokens": 10, "weights": ["w8"]}, ["body", "weights", 0], "'w16', 'w4'"),
    ({"context_tokens": 10, "k_bits": [3]}, ["body", "k_bits", 0], "16, 8, 4 or 2"),
    ({"context_tokens": 10, "budget_gib": -1}, ["body", "budget_gib"], "greater than 0"),
    ({"context_tokens": 10, "bogus": 1}, ["body", "bogus"], "Extra inputs"),
    ({"context_tokens": 10, "task": "nope"}, ["body", "task"], "calibrated tasks: passkey"),
    ({"context_tokens": 10, "metric": "f1"}, ["body", "metric"], "available: exact_match"),
    ({"context_tokens": 10, "configs": ["w16-k16v16-c300"]}, ["body", "configs"], "served grid"),
])
def test_field_level_422(shared_client, body, loc, needle):
    r = shared_client.post("/v1/frontier", json={"model": CALIBRATED, **body})
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["loc"] == loc, err
    assert needle in err["msg"], err


def test_explicit_config_list(shared_client):
    ids = ["w16-k16v16-cfull", "w4-k8v8-token-r0-c256", "w4-k4v4-token-ks-r128-c256"]
    r = shared_client.post("/v1/frontier", json={
        "model": CALIBRATED, "context_tokens": 4096, "configs": ids})
    assert r.status_code == 200
    assert r.json()["evaluated"] == 3


def test_body_size_limit_413(client):
    r = client.post("/v1/frontier", json={"model": CALIBRATED, "context_tokens": 10,
                                          "configs": ["w16-k16v16-cfull"] * 400})
    assert r.status_code == 413
    assert "4096 bytes" in r.json()["detail"]


def test_body_size_limit_413_without_content_length(client):
    def chunks():
        yield b'{"model": "' + b"x" * 3000
        yield b"y" * 3000 + b'"}'

    r = client.post("/v1/frontier", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413

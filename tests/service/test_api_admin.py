"""Catalogue, validations, metrics and the atomic artifact reload (bearer token).

A corrupt or foreign artifact refuses the reload and the previous set keeps serving.
"""

from __future__ import annotations

import json

import pytest

from models.artifact import ValidationPoint, ValidationReport, write_json_atomic
from models.specs import shipped_specs
from service.testing.synthetic import CALIBRATED, UNCALIBRATED, synthetic_artifact

AUTH = {"Authorization": "Bearer test-admin-token"}


def test_models_lists_specs_and_calibration(client):
    res = client.get("/v1/models").json()
    by_name = {m["name"]: m for m in res["models"]}
    assert by_name[UNCALIBRATED]["calibrated"] is False
    assert by_name[UNCALIBRATED]["kv_bytes_per_token_16bit"] == 131_072
    cal = by_name[CALIBRATED]["calibration"]
    assert cal["tasks"] == ["passkey"]
    assert cal["calibrated_contexts"] == [512, 1024, 2048]
    assert cal["metrics"][0]["metric"] == "exact_match"
    assert cal["validation_reports"] == 0
    assert res["allowed"]["weights"] == ["w16", "w4", "w4g64", "w4g32"]


def test_validations_listed_and_summarised(client, settings):
    report = ValidationReport(
        model=CALIBRATED, task="passkey", metric="exact_match", context_tokens=4096,
        points=[ValidationPoint(config="w4-k8v8-token-r0-c256", predicted_peak_bytes=10,
                                measured_peak_bytes=11, predicted_accuracy=0.9,
                                accuracy_lower=0.8, accuracy_upper=1.0, measured_accuracy=0.85)],
        memory_median_abs_rel_error=0.04, accuracy_mae=0.05, accuracy_coverage=1.0)
    write_json_atomic(settings.validations_dir / "r1.json", report)
    (settings.validations_dir / "broken.json").write_text("{")
    res = client.get("/v1/validations").json()
    assert [r["file"] for r in res["reports"]] == ["r1.json"]
    assert res["reports"][0]["current"] is None  # it does not say which artifact predicted it
    assert "broken.json" in res["errors"]
    assert client.get("/v1/validations", params={"model": UNCALIBRATED}).json()["reports"] == []
    cal = {m["name"]: m for m in client.get("/v1/models").json()["models"]}[CALIBRATED]
    assert cal["calibration"]["validation_memory_median_abs_rel_error"] == 0.04


def test_a_report_says_whether_the_served_artifact_made_its_predictions(client, settings):
    served = json.loads((settings.artifact_dir / f"{CALIBRATED}.json").read_text())["created_at"]
    point = ValidationPoint(config="w16-k8v8-token-r0-c256", predicted_peak_bytes=10,
                            measured_peak_bytes=10, predicted_accuracy=0.9, accuracy_lower=0.8,
                            accuracy_upper=1.0, measured_accuracy=0.9)
    for name, made_by in (("now.json", served), ("before.json", "2026-01-01T00:00:00+00:00")):
        write_json_atomic(settings.validations_dir / name, ValidationReport(
            model=CALIBRATED, task="passkey", metric="exact_match", context_tokens=4096,
            points=[point], artifact_created_at=made_by))
    got = {r["file"]: r for r in client.get("/v1/validations").json()["reports"]}
    assert got["now.json"]["current"] is True
    assert got["before.json"]["current"] is False
    assert "refit since" in got["before.json"]["note"]
    assert "kvpareto rescore" in got["before.json"]["note"]
    cal = {m["name"]: m for m in client.get("/v1/models").json()["models"]}[CALIBRATED]
    assert cal["calibration"]["validation_current"] is False  # the newest report: before.json


def test_health_and_metrics(client):
    assert client.get("/healthz").json() == {
        "status": "ok", "models": len(shipped_specs()), "artifacts_loaded": 1, "artifact_errors": 0}
    client.post("/v1/frontier", json={"model": CALIBRATED, "context_tokens": 100})
    text = client.get("/metrics").text
    assert 'kvpareto_requests_total{method="POST",route="/v1/frontier",status="200"} 1.0' in text
    assert "kvpareto_request_seconds_bucket" in text
    assert "kvpareto_artifacts_loaded 1.0" in text


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 403), (AUTH, 200)], ids=["none", "bad", "ok"])
def test_reload_needs_the_token(client, headers, status):
    assert client.post("/v1/admin/reload", headers=headers).status_code == status


def test_reload_picks_up_a_new_artifact(client, settings):
    art = synthetic_artifact(UNCALIBRATED, seed=1)
    write_json_atomic(settings.artifact_dir / f"{UNCALIBRATED}.json", art)
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["models"] == sorted([CALIBRATED, UNCALIBRATED])
    res = client.post("/v1/frontier", json={"model": UNCALIBRATED, "context_tokens": 1000})
    assert res.json()["accuracy_source"] == "artifact"


def _foreign(settings):
    doc = json.loads((settings.artifact_dir / f"{CALIBRATED}.json").read_text())
    doc["config_json"]["num_hidden_layers"] = 99
    return doc


@pytest.mark.parametrize(("name", "content", "needle"), [
    (f"{UNCALIBRATED}.json", "{not json", "corrupt JSON"),
    (f"{UNCALIBRATED}.json", lambda s: json.loads(
        (s.artifact_dir / f"{CALIBRATED}.json").read_text()), "the file holds model"),
    (f"{CALIBRATED}.json", _foreign, "num_layers is 99"),
    ("Unknown-Model.json", lambda s: {**json.loads(
        (s.artifact_dir / f"{CALIBRATED}.json").read_text()), "model": "Unknown-Model"},
     "not a served model"),
    (f"{UNCALIBRATED}.json", lambda s: {"kind": "kvpareto.artifact", "schema_version": 7},
     "schema version 7"),
], ids=["corrupt", "misfiled", "other-architecture", "unknown-model", "schema"])
def test_bad_artifact_refuses_reload_and_old_set_keeps_serving(client, settings, name, content,
                                                               needle):
    body = content if isinstance(content, str) else json.dumps(content(settings))
    (settings.artifact_dir / name).write_text(body)
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 409, r.text
    assert needle in r.json()["detail"], r.text
    res = client.post("/v1/frontier", json={"model": CALIBRATED, "context_tokens": 1000}).json()
    assert res["accuracy_source"] == "artifact"
    assert client.get("/healthz").json()["artifacts_loaded"] == 1


def test_bad_artifact_at_startup_is_skipped_and_reported(settings):
    from fastapi.testclient import TestClient

    from service.main import create_app

    (settings.artifact_dir / f"{UNCALIBRATED}.json").write_text("[]")
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").json()["artifact_errors"] == 1
        assert f"{UNCALIBRATED}.json" in c.get("/v1/models").json()["artifact_errors"]


def test_admin_disabled_without_token(settings):
    from fastapi.testclient import TestClient

    from service.main import create_app

    with TestClient(create_app(settings.model_copy(update={"admin_token": None}))) as c:
        assert c.post("/v1/admin/reload", headers=AUTH).status_code == 503

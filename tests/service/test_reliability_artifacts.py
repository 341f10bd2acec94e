"""Issue 18, artifacts with bad numbers and special files in the watched folders: refused at
start-up (skipped, logged, named by file name only) and by /v1/admin/reload (409, the last good
set keeps serving); FIFOs never hang, links to devices or out of the folder are refused."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.artifact import ValidationPoint, ValidationReport, write_json_atomic
from service.main import create_app
from service.testing.synthetic import CALIBRATED, UNCALIBRATED

AUTH = {"Authorization": "Bearer test-admin-token"}


def _doc(settings) -> dict:
    return json.loads((settings.artifact_dir / f"{CALIBRATED}.json").read_text())


def _first_fit(doc: dict) -> dict:
    return next(iter(next(iter(doc["accuracy"].values())).values()))


def _set_coef(doc, value):
    key = next(iter(doc["memory"]["coefficients"]))
    doc["memory"]["coefficients"][key] = value


def _set_kv(doc, value):
    key = next(iter(doc["kv_error"]))
    doc["kv_error"][key] = value


def _set(fn_or_key, value):
    def apply(doc):
        if callable(fn_or_key):
            fn_or_key(doc, value)
        else:
            where, key = fn_or_key
            target = doc["memory"] if where == "memory" else _first_fit(doc)
            target[key] = value
        return doc
    return apply


def _baseline_nan(doc, value):
    fit = _first_fit(doc)
    fit["baseline"][next(iter(fit["baseline"]))] = value


def _coef_nan(doc, value):
    _first_fit(doc)["coef"][0] = value


def _overflowing_peak(doc, value):
    # within the per-number bound, but the peak overflows int64 at long contexts
    doc["memory"]["coefficients"]["hidden"] = 1e12


BAD = [
    ("coef-nan", _set(_set_coef, "NaN"), "finite"),
    ("coef-inf", _set(_set_coef, "Infinity"), "non-finite"),
    ("coef-1e308", _set(_set_coef, 1e308), "1000000000000"),
    ("coef-1e999", _set(_set_coef, "1e999"), "overflows"),
    ("overhead-1e30", _set(("memory", "overhead_bytes"), 1e30), "1125899906842624"),
    ("overhead-negative", _set(("memory", "overhead_bytes"), -5), "between 0 and"),
    ("kv-error-nan", _set(_set_kv, "NaN"), "finite"),
    ("kv-error-empty", lambda d: {**d, "kv_error": {}}, "kv_error: empty"),
    ("accuracy-coef-nan", _set(_coef_nan, "NaN"), "finite"),
    ("baseline-nan", _set(_baseline_nan, "NaN"), "finite"),
    ("interval-q-inf", _set(("fit", "interval_q"), "Infinity"), "non-finite"),
    ("interval-bins-empty", _set(("fit", "interval_bins"), []), "at least 1"),
    ("overflowing-peak", _set(_overflowing_peak, None), "16-bit peak"),
]


def _write(settings, mutate) -> Path:
    text = json.dumps(mutate(_doc(settings)))
    for raw in ("NaN", "Infinity", "1e999"):
        text = text.replace(f'"{raw}"', raw)
    path = settings.artifact_dir / f"{CALIBRATED}.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("mutate", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_numbers_refuse_reload_and_old_set_keeps_serving(client, settings, mutate, needle):
    before = client.post("/v1/frontier", json={"model": CALIBRATED, "context_tokens": 1000})
    _write(settings, mutate)
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 409, r.text
    assert needle in r.json()["detail"], r.text
    assert str(settings.artifact_dir) not in r.json()["detail"]
    after = client.post("/v1/frontier", json={"model": CALIBRATED, "context_tokens": 1000})
    assert after.status_code == 200
    assert after.json() == before.json()


@pytest.mark.parametrize(("mutate", "needle"), [b[1:] for b in BAD[:8]],
                         ids=[b[0] for b in BAD[:8]])
def test_bad_numbers_at_startup_are_skipped_by_file_name(settings, mutate, needle, caplog):
    _write(settings, mutate)
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").json()["artifact_errors"] == 1
        errors = c.get("/v1/models").json()["artifact_errors"]
        why = errors[f"{CALIBRATED}.json"]
        assert needle in why
        assert "/" not in why.split(":")[0]
        assert str(settings.artifact_dir) \
            not in json.dumps(errors)
        r = c.post("/v1/recommend", json={"model": CALIBRATED, "context_tokens": 1000,
                                          "budget_gib": 20})
        assert r.status_code == 200
        assert r.json()["accuracy_source"] == "none"
    assert any(f"{CALIBRATED}.json" in rec.getMessage() for rec in caplog.records)


def _in_time(fn, seconds: float = 10.0):
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "hung"
    return out[0]


def test_fifo_in_artifact_folder_does_not_hang_reload(client, settings):
    os.mkfifo(settings.artifact_dir / f"{UNCALIBRATED}.json")
    r = _in_time(lambda: client.post("/v1/admin/reload", headers=AUTH))
    assert r.status_code == 409
    assert "not a regular file" in r.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_fifo_at_startup_is_skipped(settings):
    os.mkfifo(settings.artifact_dir / f"{UNCALIBRATED}.json")

    def run():
        with TestClient(create_app(settings)) as c:
            return c.get("/v1/models").json()["artifact_errors"]
    errors = _in_time(run)
    assert "not a regular file" in errors[f"{UNCALIBRATED}.json"]


@pytest.mark.parametrize("target", ["/dev/zero", "outside"])
def test_links_out_of_the_artifact_folder_are_refused(client, settings, tmp_path, target):
    if target == "outside":
        outside = tmp_path / "elsewhere.json"
        outside.write_text((settings.artifact_dir / f"{CALIBRATED}.json").read_text())
        target = str(outside)
    (settings.artifact_dir / f"{UNCALIBRATED}.json").symlink_to(target)
    r = _in_time(lambda: client.post("/v1/admin/reload", headers=AUTH))
    assert r.status_code == 409, r.text
    assert "refused" in r.json()["detail"], r.text


def _report(model: str, created: str) -> ValidationReport:
    return ValidationReport(
        model=model, task="passkey", metric="exact_match", context_tokens=4096,
        created_at=created,
        points=[ValidationPoint(config="w4-k8v8-token-r0-c256", predicted_peak_bytes=10,
                                measured_peak_bytes=11, predicted_accuracy=0.9,
                                accuracy_lower=0.8, accuracy_upper=1.0, measured_accuracy=0.85)])


def test_special_files_in_validations_folder(client, settings, tmp_path):
    folder = settings.validations_dir
    folder.mkdir(exist_ok=True)
    write_json_atomic(folder / "good.json", _report(CALIBRATED, "2026-01-01"))
    os.mkfifo(folder / "fifo.json")
    (folder / "zero.json").symlink_to("/dev/zero")
    outside = tmp_path / "outside.json"
    write_json_atomic(outside, _report(CALIBRATED, "2026-01-02"))
    (folder / "out.json").symlink_to(outside)
    (folder / "big.json").write_bytes(b" " * (5 << 20))
    res = _in_time(lambda: client.get("/v1/validations").json())
    assert [r["file"] for r in res["reports"]] == ["good.json"]
    assert set(res["errors"]) == {"fifo.json", "zero.json", "out.json", "big.json"}
    assert "limit" in res["errors"]["big.json"]
    assert "out of" in res["errors"]["out.json"]
    assert str(folder) not in json.dumps(res)
    assert _in_time(lambda: client.get("/v1/models")).status_code == 200


def test_validations_are_paged_and_cached(client, settings, monkeypatch):
    folder = settings.validations_dir
    folder.mkdir(exist_ok=True)
    for i in range(7):
        write_json_atomic(folder / f"r{i}.json", _report(CALIBRATED, f"2026-01-0{i + 1}"))
    page = client.get("/v1/validations", params={"limit": 3, "offset": 2}).json()
    assert [r["file"] for r in page["reports"]] == ["r2.json", "r3.json", "r4.json"]
    assert page["total"] == 7
    assert page["limit"] == 3
    assert page["offset"] == 2
    assert client.get("/v1/validations", params={"limit": 0}).status_code == 422
    from service import reports

    calls: list[Path] = []
    real = reports.load_report
    monkeypatch.setattr(reports, "load_report", lambda p: calls.append(p) or real(p))
    client.get("/v1/validations")
    assert calls == []  # unchanged files are not read again
    write_json_atomic(folder / "r0.json", _report(UNCALIBRATED, "2026-01-01"))
    client.get("/v1/validations")
    assert [p.name for p in calls] == ["r0.json"]

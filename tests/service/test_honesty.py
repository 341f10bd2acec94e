"""No accuracy claimed where the 16-bit model was never measured, "fits" judged by the memory
fit's upper bound, and the runtime of the memory fit named in every answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from models.artifact import artifact_path, write_json_atomic
from models.memory import GIB
from service.main import create_app
from service.settings import Settings
from service.testing.synthetic import CALIBRATED, synthetic_artifact

LONGEST = 4096  # the 16-bit anchors of the artifact below stop here


@pytest.fixture(scope="module")
def short_anchors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The synthetic artifact with 16-bit anchors up to LONGEST only, and a bound factor."""
    art = synthetic_artifact(CALIBRATED)
    accuracy = {task: {m: f.model_copy(update={"baseline": {
        L: v for L, v in f.baseline.items() if L <= LONGEST}}) for m, f in fits.items()}
        for task, fits in art.accuracy.items()}
    assert art.memory is not None
    memory = art.memory.model_copy(update={"bound_factor": 1.05,
                                           "runtime": "cpu-sdpa-bf16-avx512_core_bf16"})
    folder = tmp_path_factory.mktemp("short")
    write_json_atomic(artifact_path(folder, CALIBRATED),
                      art.model_copy(update={"accuracy": accuracy, "memory": memory}))
    with TestClient(create_app(Settings(artifact_dir=folder,
                                        validations_dir=folder / "none"))) as c:
        yield c


def post(client: TestClient, path: str, **body: object) -> dict:
    r = client.post(path, json={"model": CALIBRATED, **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_past_the_longest_anchor_accuracy_is_null_with_the_reason(short_anchors):
    inside = post(short_anchors, "/v1/frontier", context_tokens=LONGEST)
    assert all(p["accuracy"] is not None for p in inside["frontier"])
    past = post(short_anchors, "/v1/frontier", context_tokens=2 * LONGEST)
    assert past["frontier"]
    assert all(p["accuracy"] is None for p in past["frontier"])
    assert past["baseline"]["accuracy"] is None
    assert any("accuracy unknown" in w and "4,096" in w for w in past["warnings"])


def test_past_max_position_embeddings_accuracy_is_null(shared_client):
    res = post(shared_client, "/v1/frontier", context_tokens=65536)  # Qwen2.5-7B: 32,768
    assert all(p["accuracy"] is None for p in res["frontier"])
    assert any("max_position_embeddings" in w for w in res["warnings"])


def test_a_recommendation_for_accuracy_past_the_anchors_is_refused(short_anchors):
    res = post(short_anchors, "/v1/recommend", context_tokens=16384, budget_gib=40,
               max_drop=0.05)
    assert res["feasible"] is False
    assert "accuracy unknown" in res["reason"]


def test_capacity_for_an_accuracy_floor_stays_within_the_anchors(short_anchors):
    free = post(short_anchors, "/v1/capacity", budget_gib=40)
    assert free["context_tokens"] > LONGEST  # memory alone reaches further
    held = post(short_anchors, "/v1/capacity", budget_gib=40, max_drop=0.05)
    assert held["feasible"] is True
    assert held["context_tokens"] <= LONGEST
    assert held["recommendation"]["accuracy"] is not None


def test_fits_means_the_upper_bound_fits(short_anchors):
    res = post(short_anchors, "/v1/frontier", context_tokens=2048, budget_gib=9)
    assert res["memory_bound_factor"] == pytest.approx(1.05)
    assert res["memory_runtime"] == "cpu-sdpa-bf16-avx512_core_bf16"
    for p in res["frontier"]:
        assert p["memory"]["peak_bytes"] * 1.05 <= 9 * GIB + 1
    rec = post(short_anchors, "/v1/recommend", context_tokens=2048, budget_gib=9, max_drop=0.05)
    assert rec["recommendation"]["memory"]["peak_bytes"] * 1.05 <= 9 * GIB + 1


def test_an_unrecorded_kernel_path_is_named_and_warned_about(shared_client):
    res = post(shared_client, "/v1/frontier", context_tokens=1024)
    assert res["memory_runtime"] == "synthetic"
    assert not any("kernel path" in w for w in res["warnings"])


def test_the_catalogue_says_where_accuracy_stops(short_anchors, shared_client):
    """The page reads how far each task's 16-bit model was measured from GET /v1/models."""
    def calibration(client: TestClient) -> dict:
        models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
        return models[CALIBRATED]["calibration"]

    assert calibration(short_anchors)["longest_anchor_tokens"] == {"passkey": LONGEST}
    assert calibration(shared_client)["longest_anchor_tokens"] == {"passkey": 131072}


@pytest.fixture(scope="module")
def w16_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The synthetic artifact as a calibration that never ran 4-bit weights would write it."""
    art = synthetic_artifact(CALIBRATED).model_copy(update={"weight_bits": [16]})
    folder = tmp_path_factory.mktemp("w16")
    write_json_atomic(artifact_path(folder, CALIBRATED), art)
    with TestClient(create_app(Settings(artifact_dir=folder,
                                        validations_dir=folder / "none"))) as c:
        yield c


def test_weights_the_calibration_never_ran_get_no_accuracy(w16_only, shared_client):
    """A fit that saw only 16-bit weights has a 4-bit coefficient of nothing; it must not
    present 4-bit rows as if AWQ cost no accuracy."""
    body = {"context_tokens": 1024, "include_points": True}
    res = post(w16_only, "/v1/frontier", **body)
    assert res["frontier"]
    assert all(p["config"].startswith("w16-") for p in res["frontier"])
    cloud = res["points"]
    w4 = [i for i, c in enumerate(cloud["config"]) if c.startswith("w4")]
    assert w4
    assert all(cloud["mean"][i] is None for i in w4)
    assert res["unpredictable"] >= len(w4)
    assert any("4-bit weights were never run" in w for w in res["warnings"])
    rec = post(w16_only, "/v1/recommend", context_tokens=1024, budget_gib=1000, max_drop=0.5)
    assert rec["recommendation"]["config"].startswith("w16-")
    only16 = post(w16_only, "/v1/frontier", context_tokens=1024, weights=["w16"])
    assert only16["frontier"]
    assert not any("never run" in w for w in only16["warnings"])  # the request left 4-bit out
    grouped = post(w16_only, "/v1/recommend", context_tokens=1024, budget_gib=1000,
                   weights=["w16", "w4g64"], max_drop=0.5)
    assert any("4-bit weights were never run" in w for w in grouped["warnings"])
    full = post(shared_client, "/v1/frontier", **body)  # an artifact that ran both
    assert any(p["config"].startswith("w4") for p in full["frontier"])
    assert not any("never run" in w for w in full["warnings"])

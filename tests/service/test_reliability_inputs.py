"""Issue 18, non-finite and out-of-range numbers: strict request models, a 422 that always
encodes (NaN, Infinity, 1e999, lone surrogates, bools for ints), never a 500."""

from __future__ import annotations

import json

import pytest

from service.testing.synthetic import CALIBRATED

BASE = {
    "/v1/frontier": {"model": CALIBRATED, "context_tokens": 1024},
    "/v1/recommend": {"model": CALIBRATED, "context_tokens": 1024, "budget_gib": 20},
    "/v1/capacity": {"model": CALIBRATED, "budget_gib": 20},
    "/v1/memory": {"model": CALIBRATED, "config": "w16-k16v16-cfull", "context_tokens": 1024},
}
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]
CASES = [
    ("/v1/recommend", "budget_gib"), ("/v1/recommend", "max_drop"),
    ("/v1/recommend", "accuracy_floor"), ("/v1/frontier", "context_tokens"),
    ("/v1/frontier", "budget_gib"), ("/v1/capacity", "budget_gib"),
    ("/v1/capacity", "max_drop"), ("/v1/capacity", "accuracy_floor"),
    ("/v1/capacity", "max_context_tokens"), ("/v1/memory", "context_tokens"),
]


def _post_raw(client, path: str, body: dict[str, object], field: str, raw: str):
    text = json.dumps({**body, field: "__X__"}).replace('"__X__"', raw)
    return client.post(path, content=text, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("path", "field"), CASES)
@pytest.mark.parametrize("raw", RAW_NUMBERS)
def test_non_finite_numbers_are_422_not_500(shared_client, path, field, raw):
    r = _post_raw(shared_client, path, BASE[path], field, raw)
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["loc"][-1] == field or field in json.dumps(err["loc"]), err


@pytest.mark.parametrize(("path", "field"), [
    ("/v1/frontier", "model"), ("/v1/frontier", "task"), ("/v1/frontier", "metric"),
    ("/v1/memory", "config"), ("/v1/recommend", "model"),
])
def test_lone_surrogate_in_a_string_is_422(shared_client, path, field):
    r = _post_raw(shared_client, path, BASE[path], field, '"\\ud800"')
    assert r.status_code in (404, 422), r.text
    r.json()  # valid JSON


def test_lone_surrogate_as_an_unknown_field_name_is_422(shared_client):
    text = '{"model": "' + CALIBRATED + '", "context_tokens": 5, "\\udfff": 1}'
    r = shared_client.post("/v1/frontier", content=text,
                           headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"]


@pytest.mark.parametrize(("path", "field", "value"), [
    ("/v1/frontier", "context_tokens", True), ("/v1/memory", "context_tokens", False),
    ("/v1/frontier", "context_tokens", 1024.0), ("/v1/frontier", "context_tokens", "1024"),
    ("/v1/frontier", "limit", True), ("/v1/recommend", "budget_gib", True),
    ("/v1/recommend", "budget_gib", "20"), ("/v1/frontier", "include_points", 1),
    ("/v1/frontier", "k_bits", [True]),
])
def test_no_type_coercion(shared_client, path, field, value):
    r = shared_client.post(path, json={**BASE[path], field: value})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(("path", "field", "value", "bound"), [
    ("/v1/recommend", "max_drop", 1e300, "1000000"),
    ("/v1/recommend", "accuracy_floor", -1e300, "-1000000"),
    ("/v1/recommend", "budget_gib", 0, "greater than 0"),
    ("/v1/frontier", "context_tokens", 1 << 30, "16777216"),
    ("/v1/frontier", "limit", 1 << 40, "1048576"),
])
def test_out_of_range_names_the_bound(shared_client, path, field, value, bound):
    r = shared_client.post(path, json={**BASE[path], field: value})
    assert r.status_code == 422, r.text
    assert bound in r.json()["detail"][0]["msg"], r.text


def test_integral_floats_still_fine_for_float_fields(shared_client):
    r = shared_client.post("/v1/recommend", json={**BASE["/v1/recommend"], "budget_gib": 20,
                                                    "max_drop": 0})
    assert r.status_code == 200, r.text

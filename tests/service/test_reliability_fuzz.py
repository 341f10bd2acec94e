"""Issue 18, property-based fuzzing of the request models: any JSON value in any field (numbers
non-finite or huge, strings with lone surrogates, bools, nesting) is a 200 or a 4xx with a JSON
body, never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.testing.synthetic import CALIBRATED

BASE = {
    "/v1/frontier": {"model": CALIBRATED, "context_tokens": 1024},
    "/v1/recommend": {"model": CALIBRATED, "context_tokens": 1024, "budget_gib": 20},
    "/v1/capacity": {"model": CALIBRATED, "budget_gib": 20},
    "/v1/memory": {"model": CALIBRATED, "config": "w16-k16v16-cfull", "context_tokens": 1024},
}
FIELDS = {
    "/v1/frontier": ["model", "context_tokens", "budget_gib", "configs", "include_points",
                     "limit", "weights", "k_bits", "v_bits", "task", "metric", "zzz"],
    "/v1/recommend": ["model", "context_tokens", "budget_gib", "accuracy_floor", "max_drop",
                      "conservative", "task", "metric", "k_bits"],
    "/v1/capacity": ["model", "budget_gib", "max_context_tokens", "accuracy_floor", "max_drop",
                     "conservative", "weights"],
    "/v1/memory": ["model", "config", "context_tokens"],
}
scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(1 << 80), max_value=1 << 80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 1, 2, 4, 8, 16, 1024, 0.5, 1e-300, 1e308, "w4-k4v2-token-r0-c256",
                       "w16", "passkey", "exact_match", CALIBRATED, "\ud800", "\udfff x"])
    | st.text(max_size=80)
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
edits = st.sampled_from(sorted(BASE)).flatmap(
    lambda path: st.tuples(st.just(path),
                           st.dictionaries(st.sampled_from(FIELDS[path]), values, min_size=1,
                                           max_size=3)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_any_json_value_is_200_or_4xx(shared_client, edit):
    path, changes = edit
    body = {**BASE[path], **changes}
    text = json.dumps(body, allow_nan=True)  # writes NaN/Infinity raw; surrogates as \\ud800
    r = shared_client.post(path, content=text, headers={"content-type": "application/json"})
    assert r.status_code in (200, 404, 422), (r.status_code, text, r.text)
    r.json()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_body_bytes_are_4xx_or_200(shared_client, raw):
    r = shared_client.post("/v1/frontier", content=raw,
                           headers={"content-type": "application/json"})
    assert 200 <= r.status_code < 500, (raw, r.text)
    r.json()

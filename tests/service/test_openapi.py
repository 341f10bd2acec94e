"""The committed openapi.yaml is exactly what the app generates (regenerate: make openapi).

Also checks the document lists every public endpoint.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from service.openapi import document

FILE = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_openapi_yaml_is_in_sync():
    assert FILE.exists(), "openapi.yaml missing: python -m service.openapi > openapi.yaml"
    assert FILE.read_text() == document(), (
        "openapi.yaml drifted from the app: python -m service.openapi > openapi.yaml")


def test_openapi_lists_the_endpoints():
    paths = yaml.safe_load(document())["paths"]
    for path in ("/v1/models", "/v1/memory", "/v1/frontier", "/v1/recommend", "/v1/capacity",
                 "/v1/validations", "/v1/admin/reload", "/healthz", "/metrics"):
        assert path in paths, path
    assert "/" not in paths
    assert "/static/plotly.min.js" not in paths

"""Issue 18, connections and OpenAPI drift: the served command (Makefile, Dockerfile) limits
keep-alive and concurrency with flags uvicorn accepts; every status code the API returns is
documented per operation, and configuration ids carry a pattern."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml
from uvicorn.main import main as uvicorn_main

from service.openapi import document

ROOT = Path(__file__).resolve().parents[2]


def _make_limits() -> list[str]:
    m = re.search(r"^UVICORN_LIMITS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "Makefile has no UVICORN_LIMITS"
    return shlex.split(m.group(1))


def test_served_command_limits_connections():
    flags = _make_limits()
    for flag in ("--timeout-keep-alive", "--limit-concurrency"):
        assert flag in flags
    ctx = uvicorn_main.make_context("uvicorn", ["service.main:create_app", *flags])
    assert ctx.params["timeout_keep_alive"] <= 30
    assert ctx.params["limit_concurrency"] > 0
    make = (ROOT / "Makefile").read_text()
    assert make.count("$(UVICORN_LIMITS)") >= 2  # run and serve
    cmd = (ROOT / "Dockerfile").read_text().split("\nCMD ")[1]
    docker = json.loads(cmd.replace("\\\n", ""))
    assert docker[-len(flags):] == flags, docker


EXPECTED = {
    ("/v1/memory", "post"): {400, 404, 413, 422, 503},
    ("/v1/frontier", "post"): {400, 404, 413, 422, 503},
    ("/v1/recommend", "post"): {400, 404, 413, 422, 503},
    ("/v1/capacity", "post"): {400, 404, 413, 422, 503},
    ("/v1/admin/reload", "post"): {401, 403, 409, 503},
    ("/v1/validations", "get"): {422},
}


def test_every_status_code_documented():
    paths = yaml.safe_load(document())["paths"]
    for (path, method), codes in EXPECTED.items():
        documented = {int(c) for c in paths[path][method]["responses"]}
        assert codes <= documented, (path, method, codes - documented)


def test_config_ids_have_a_pattern():
    spec = yaml.safe_load(document())
    schemas = spec["components"]["schemas"]
    assert "pattern" in schemas["MemoryRequest"]["properties"]["config"]
    configs = schemas["FrontierRequest"]["properties"]["configs"]["anyOf"][0]["items"]
    assert "pattern" in configs
    assert "pattern" in schemas["MemoryRequest"]["properties"]["model"]

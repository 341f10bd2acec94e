"""Issue 18, property-based fuzzing of artifact numbers: any number in any numeric field of an
artifact is either refused (ArtifactError naming the file, not its folder) or loads to a model
whose 16-bit peak is positive and whose predicted intervals are finite and ordered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.accuracy import predict
from models.artifact import ArtifactError
from service.grid import model_grid
from service.registry import load_one
from service.testing.synthetic import CALIBRATED, synthetic_artifact

DOC = json.loads(synthetic_artifact(CALIBRATED).model_dump_json())


def _leaves(doc: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))]
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        return [path]
    return []


LEAVES = [p for p in _leaves(DOC) if p[0] not in ("schema_version", "config_json")]
numbers = (st.floats(allow_nan=True, allow_infinity=True)
           | st.integers(min_value=-(1 << 70), max_value=1 << 70)
           | st.sampled_from([0, -1, 1e308, -1e308, 1e30, 1e-320]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LEAVES), numbers)
def test_any_artifact_number_is_refused_or_sane(folder, where, value):
    doc = json.loads(json.dumps(DOC))
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = folder / f"{CALIBRATED}.json"
    path.write_text(json.dumps(doc, allow_nan=True))
    grid = model_grid(CALIBRATED)
    try:
        cal = load_one(path, {CALIBRATED: grid})
    except ArtifactError as exc:
        refused = str(exc)
    else:
        refused = None
    if refused is not None:  # refused by file name, never by the server's path
        assert str(folder) not in refused
        return
    des = cal.design
    for by_metric in cal.artifact.accuracy.values():
        for fit in by_metric.values():
            for ctx in (1, 1024, 1 << 17):
                p = predict(fit, des, ctx)
                assert np.all(np.isfinite(p.mean))
                assert np.all(p.lower <= p.upper + 1e-9)

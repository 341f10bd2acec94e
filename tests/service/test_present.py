"""Texts and decisions without HTTP: GiB amounts keep their significant digits; refusals."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from models.memory import GIB
from service import respond
from service.present import bytes_text, gib_text, wanted
from service.registry import load_registry
from service.schemas.requests import CapacityRequest, RecommendRequest
from service.settings import Settings
from service.testing.synthetic import CALIBRATED, UNCALIBRATED


@pytest.mark.parametrize(("gib", "text"), [
    (0.030, "0.03"), (0.0302734375, "0.03027"), (0.00146, "0.00146"), (12.0, "12"),
    (7.99987, "8"), (7.9987, "7.999"), (1234.5678, "1235"), (0.0, "0"), (1e-7, "0.0000001"),
])
def test_gib_text_keeps_significant_digits(gib, text):
    assert gib_text(gib) == text


def test_bytes_text_never_says_zero_for_a_small_amount():
    assert bytes_text(int(0.030 * GIB)) == "0.03 GiB"
    assert bytes_text(1) != "0 GiB"


def test_wanted_names_the_constraints():
    assert wanted(0.5, None, False) == "accuracy_floor 0.5"
    assert wanted(None, 0.02, True) == "max_drop 0.02 (judged by the interval's pessimistic end)"


@pytest.fixture(scope="module")
def entries(artifact_source: Path):
    return load_registry(artifact_source, False).models


def _needs(reason: str) -> float:
    return float(re.search(r"needs ([0-9.]+) GiB", reason).group(1))


def test_nothing_fits_names_the_smallest_peak_to_four_digits(entries):
    entry = entries["testbed-llama"]
    body = RecommendRequest(model="testbed-llama", context_tokens=256, budget_gib=0.0001)
    r = respond.recommend(entry, body, Settings())
    assert not r.feasible
    assert r.reason.startswith("nothing fits in 0.0001 GiB at 256 tokens")
    smallest = int(entry.ledger.at(256).peak.min())
    assert _needs(r.reason) == pytest.approx(smallest / GIB, rel=5e-4)
    assert _needs(r.reason) > 0
    c = respond.capacity(entry, CapacityRequest(model="testbed-llama", budget_gib=0.0001),
                         Settings())
    assert not c.feasible
    assert "even at 1 token" in c.reason
    assert _needs(c.reason) > 0


def test_capacity_refusals_without_http(entries):
    s = Settings()
    r = respond.capacity(entries[UNCALIBRATED], CapacityRequest(
        model=UNCALIBRATED, budget_gib=8, accuracy_floor=0.5), s)
    assert not r.feasible
    assert "accuracy_floor 0.5 cannot be checked" in r.reason
    r = respond.capacity(entries[CALIBRATED], CapacityRequest(
        model=CALIBRATED, budget_gib=20, accuracy_floor=1e6), s)
    assert not r.feasible
    assert "is predicted to meet accuracy_floor 1000000.0" in r.reason
    r = respond.capacity(entries[CALIBRATED], CapacityRequest(model=CALIBRATED, budget_gib=20), s)
    assert r.feasible
    assert r.recommendation is not None
    assert np.isclose(r.recommendation.memory.peak_gib * GIB, r.recommendation.memory.peak_bytes)

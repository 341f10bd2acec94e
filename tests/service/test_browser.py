"""The frontier page in headless Chromium (Debian package), driven by Playwright.

Defaults that fit the model, the frontier and the table following model, context and budget,
the query kept in (and restored from) the URL, a second model overlaid, and the CSV/JSON
downloads matching the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.screenshot import CHROMIUM, launch, page_url, wait_ready
from service.settings import Settings
from service.testing.live import serve
from service.testing.synthetic import CALIBRATED, CONTEXTS, UNCALIBRATED, write_synthetic

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]

BASELINE = "w16-k16v16-cfull"  # the page asks for its peak
SECOND = "SmolLM2-135M-Instruct"  # a second calibrated (synthetic) model, sorted after


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(base URL, browser) over synthetic artifacts for CALIBRATED and SECOND."""
    from playwright.sync_api import sync_playwright

    folder: Path = tmp_path_factory.mktemp("page")
    write_synthetic(folder, CALIBRATED)
    write_synthetic(folder, SECOND, seed=1)
    settings = Settings(artifact_dir=folder, validations_dir=folder / "none")
    with serve(settings) as url, sync_playwright() as p:
        browser = launch(p)
        yield url, browser
        browser.close()


@pytest.fixture
def page(live: tuple[str, Any]) -> Iterator[Any]:
    """A fresh page; fails the test on any JavaScript error."""
    errors: list[str] = []
    pg = live[1].new_page(viewport={"width": 1280, "height": 900})
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    pg.close()
    assert errors == []


def ready(page: Any) -> dict[str, str]:
    wait_ready(page)
    return page.evaluate("({...document.getElementById('summary').dataset})")


def change(page: Any, selector: str, value: str) -> None:
    """Set a control as a user would and wait for the redrawn answer."""
    page.evaluate("document.getElementById('summary').dataset.state = 'stale'")
    if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
        page.select_option(selector, value)
    else:
        page.fill(selector, value)
        page.dispatch_event(selector, "change")
    wait_ready(page)


def traces(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("""document.getElementById('plot').data.map(t => (
        {role: t.meta.role, model: t.meta.model, name: t.name, x: Array.from(t.x),
         y: Array.from(t.y)}))""")


def roles(page: Any) -> list[tuple[str, str]]:
    return [(t["role"], t["model"]) for t in traces(page)]


def table_rows(page: Any) -> list[tuple[str, str]]:
    rows = page.evaluate("""Array.from(document.querySelectorAll('#table tbody tr'))
        .map(r => [r.dataset.model, r.dataset.config])""")
    return [(m, c) for m, c in rows]


def frontier(url: str, model: str, context: int, budget: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "context_tokens": context, "limit": 2000}
    if budget:
        body["budget_gib"] = budget
    r = httpx.post(f"{url}/v1/frontier", json=body, timeout=30)
    r.raise_for_status()
    return r.json()


def half_baseline(url: str, model: str, context: int) -> float:
    """What the page proposes: half the 16-bit peak, two significant digits."""
    r = httpx.post(f"{url}/v1/memory", json={"model": model, "context_tokens": context,
                                             "config": BASELINE}, timeout=30)
    return float(f"{r.json()['peak_gib'] / 2:.2g}")


def test_defaults_fit_the_model_and_the_page_follows_model_context_and_budget(live, page):
    url = live[0]
    page.goto(url)
    s = ready(page)
    # a calibrated model: its longest calibrated context, half the 16-bit peak there
    assert s["model"] == CALIBRATED
    assert int(s["context"]) == max(CONTEXTS)
    assert float(s["budget"]) == half_baseline(url, CALIBRATED, max(CONTEXTS))
    assert roles(page) == [("cloud", CALIBRATED), ("frontier", CALIBRATED),
                           ("baseline", CALIBRATED)]
    front = traces(page)[1]
    assert front["x"]
    assert max(front["x"]) <= float(s["budget"])
    # the x axis spans the points, not 0..budget
    xs = [x for t in traces(page) for x in t["x"]]
    lo, hi = page.evaluate("document.getElementById('plot').layout.xaxis.range")
    assert lo <= min(xs)
    assert hi >= max(xs)
    assert hi - lo < 1.2 * (max(xs) - min(xs)) + 0.1 * max(xs)
    assert "log" not in page.evaluate("document.getElementById('plot').layout.xaxis.type")
    api = frontier(url, CALIBRATED, int(s["context"]), float(s["budget"]))
    assert table_rows(page) == [(CALIBRATED, p["config"]) for p in api["frontier"]]

    # the budget: fewer fit, the frontier and the table follow
    change(page, "#budget", "6")
    after = ready(page)
    assert after["budget"] == "6"
    assert 0 < int(after["fitting"]) < int(s["fitting"])
    assert max(traces(page)[1]["x"]) <= 6
    api = frontier(url, CALIBRATED, int(s["context"]), 6)
    assert table_rows(page) == [(CALIBRATED, p["config"]) for p in api["frontier"]]

    # the context: a new frontier at that length
    change(page, "#context", "1024")
    assert ready(page)["context"] == "1024"
    api = frontier(url, CALIBRATED, 1024, 6)
    assert table_rows(page) == [(CALIBRATED, p["config"]) for p in api["frontier"]]
    peaks = page.evaluate("document.getElementById('plot').data[1].x")
    assert peaks == pytest.approx([p["memory"]["peak_gib"] for p in api["frontier"]])

    # another model: its own defaults (uncalibrated: 32,768 tokens), memory only, no accuracy
    change(page, "#model", UNCALIBRATED)
    s = ready(page)
    assert s["context"] == "32768"
    assert float(s["budget"]) == half_baseline(url, UNCALIBRATED, 32768)
    assert page.input_value("#context") == "32768"
    assert roles(page) == [("ranked", UNCALIBRATED), ("baseline", UNCALIBRATED)]
    title = page.evaluate("document.getElementById('plot').layout.yaxis.title.text")
    assert "no accuracy model" in title
    cells = page.locator("#table tbody tr").first.locator("td").all_inner_texts()
    assert "unknown" in cells[4]
    assert "no accuracy model" in page.inner_text("#warnings")
    # a budget far beyond every configuration stays off the axis instead of squeezing it
    change(page, "#budget", "1000")
    layout = page.evaluate("document.getElementById('plot').layout")
    assert layout["xaxis"]["range"][1] < 100
    assert "off the axis" in layout["annotations"][0]["text"]


def test_the_url_carries_the_query_and_restores_the_view(live, page):
    url = live[0]
    page.goto(url)
    ready(page)
    change(page, "#compare", SECOND)
    change(page, "#context", "1024")
    change(page, "#budget", "9")
    page.check("#log")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"model": [CALIBRATED], "compare": [SECOND], "context": ["1024"],
                     "budget": ["9"], "task": ["passkey"], "log": ["1"]}
    rows = table_rows(page)

    other = live[1].new_page()
    other.goto(page.url)
    s = ready(other)
    assert (s["model"], s["compare"], s["context"], s["budget"]) == (
        CALIBRATED, SECOND, "1024", "9")
    assert other.input_value("#budget") == "9"
    assert other.is_checked("#log")
    assert other.evaluate("document.getElementById('plot').layout.xaxis.type") == "log"
    assert table_rows(other) == rows
    other.close()

    # a shared link to a memory-only model at a fixed context gets the budget for that context
    page.goto(page_url(url, {"model": UNCALIBRATED, "context": 8192}))
    s = ready(page)
    assert s["context"] == "8192"
    assert float(s["budget"]) == half_baseline(url, UNCALIBRATED, 8192)


def test_a_second_model_is_overlaid(live, page):
    page.goto(live[0])
    ready(page)
    change(page, "#compare", SECOND)
    assert roles(page) == [("cloud", CALIBRATED), ("frontier", CALIBRATED),
                           ("baseline", CALIBRATED), ("frontier", SECOND), ("baseline", SECOND)]
    names = page.evaluate("document.getElementById('plot').data.map(t => t.name)")
    assert f"{SECOND}: Pareto frontier" in names
    models = {m for m, _ in table_rows(page)}
    assert models == {CALIBRATED, SECOND}
    # with a memory-only model both are drawn by memory: no accuracy invented for either
    change(page, "#compare", UNCALIBRATED)
    assert roles(page) == [("ranked", CALIBRATED), ("baseline", CALIBRATED),
                           ("ranked", UNCALIBRATED), ("baseline", UNCALIBRATED)]


def test_downloads_are_what_the_table_shows(live, page):
    page.goto(live[0])
    ready(page)
    change(page, "#compare", SECOND)
    rows = table_rows(page)
    with page.expect_download() as got:
        page.click("#download-csv")
    text = Path(got.value.path()).read_text()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["model"], r["config"]) for r in table] == rows
    first = table[0]
    assert float(first["accuracy_lower"]) <= float(first["accuracy_mean"])
    assert int(first["peak_bytes"]) > 0

    with page.expect_download() as got:
        page.click("#download-json")
    assert got.value.suggested_filename.endswith(".json")
    bodies = json.loads(Path(got.value.path()).read_text())
    assert [b["model"] for b in bodies] == [CALIBRATED, SECOND]
    assert [(b["model"], p["config"]) for b in bodies for p in b["frontier"]] == rows

    # one model: the JSON is the API's body itself
    change(page, "#compare", "")
    with page.expect_download() as got:
        page.click("#download-json")
    body = json.loads(Path(got.value.path()).read_text())
    assert body["model"] == CALIBRATED
    assert [(CALIBRATED, p["config"]) for p in body["frontier"]] == table_rows(page)


def test_the_runtime_changes_memory_and_rides_in_the_url(live, page):
    url = live[0]
    page.goto(page_url(url, {"model": UNCALIBRATED, "context": 8192, "budget": 40}))
    ready(page)
    assert page.input_value("#runtime") == "hf-sdpa"
    base = {t["role"]: t for t in traces(page)}["baseline"]["x"][0]
    change(page, "#runtime", "hf-eager")
    assert parse_qs(urlsplit(page.url).query)["runtime"] == ["hf-eager"]
    eager = {t["role"]: t for t in traces(page)}["baseline"]["x"][0]
    r = httpx.post(f"{url}/v1/frontier", json={"model": UNCALIBRATED, "context_tokens": 8192,
                                               "budget_gib": 40, "runtime": "hf-eager"},
                   timeout=30).json()
    assert eager == pytest.approx(r["baseline"]["memory"]["peak_gib"], rel=1e-6)
    assert eager > base
    assert [c for _, c in table_rows(page)][:5] == [p["config"] for p in r["frontier"]][:5]
    assert any("runtime hf-eager" in w for w in page.locator("#warnings").all_inner_texts())

"""The frontier page in headless Chromium (Debian package), driven by Playwright.

Loads `/`, changes the budget, and sees the frontier redrawn from the API.
"""

from __future__ import annotations

import pytest

from bench.screenshot import CHROMIUM, launch, wait_ready
from service.testing.live import serve
from service.testing.synthetic import UNCALIBRATED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian chromium: apt-get install -y chromium"),
]


def test_page_redraws_frontier_when_budget_changes(settings):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with serve(settings) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_ready(page)
        before = int(page.get_attribute("#summary", "data-fitting") or 0)
        traces = page.evaluate("document.getElementById('plot').data.length")
        assert traces == 2  # all configurations + the frontier line
        page.fill("#budget", "7")
        page.dispatch_event("#budget", "change")
        page.wait_for_selector("#summary[data-budget='7'][data-state=ready]")
        after = int(page.get_attribute("#summary", "data-fitting") or 0)
        assert 0 < after < before
        xs = page.evaluate("document.getElementById('plot').data[1].x")
        assert xs
        assert max(xs) <= 7
        assert page.locator("#table tbody tr").count() > 0
        # a memory-only model: one trace, no accuracy axis
        page.select_option("#model", UNCALIBRATED)
        page.wait_for_function("document.getElementById('plot').data.length === 1")
        wait_ready(page)
        title = page.evaluate("document.getElementById('plot').layout.yaxis.title.text")
        assert "no accuracy model" in title
        browser.close()
    assert errors == []

"""Screenshot of the frontier page for the README: `python -m bench.screenshot [docs/frontier.png]`.

Serves the shipped artifacts in a real uvicorn; drives headless Chromium (Debian's package).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from service.settings import Settings
from service.testing.live import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def launch(playwright: Any) -> Any:
    """Debian's chromium, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_ready(page: Any, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector("#summary[data-state=ready]", timeout=timeout_ms)


def main(out: Path, model: str, context: int, budget: str) -> None:
    """Shoot the page as a user sees it, over the shipped artifacts (real calibration)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(validations_dir=Path(tmp) / "v")
        with serve(settings) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            wait_ready(page)
            page.select_option("#model", model)
            wait_ready(page)
            page.fill("#context", str(context))
            page.dispatch_event("#context", "change")
            page.fill("#budget", budget)
            page.dispatch_event("#budget", "change")
            page.wait_for_selector(f"#summary[data-budget='{budget}'][data-state=ready]")
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    print(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", nargs="?", default="docs/frontier.png")
    ap.add_argument("--model", default="testbed-llama")
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--budget", default="0.005", help="GiB, as typed into the page")
    args = ap.parse_args()
    main(Path(args.out), args.model, args.context, args.budget)

"""Screenshot of the frontier page for the README: `python -m bench.screenshot [docs/frontier.png]`.

The view is given as the page's own URL query (model, compare, context, budget, log).

Serves the shipped artifacts in a real uvicorn; drives headless Chromium (Debian's package).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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


def page_url(base: str, query: dict[str, str | int | None]) -> str:
    """The page's URL for a view (`model`, `compare`, `context`, `budget`, `task`, `log`)."""
    return f"{base}/?{urlencode({k: v for k, v in query.items() if v is not None})}"


def main(out: Path, query: dict[str, str | int | None]) -> None:
    """Shoot the page as a user sees it, over the shipped artifacts (real calibration)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(validations_dir=Path(tmp) / "v")
        with serve(settings) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url(url, query))
            wait_ready(page)
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    print(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", nargs="?", default="docs/frontier.png")
    ap.add_argument("--model", default="testbed-llama")
    ap.add_argument("--compare", default="testbed-qwen2", help="second model ('' for none)")
    ap.add_argument("--context", type=int, help="tokens (default: the page's, for the model)")
    ap.add_argument("--budget", help="GiB (default: the page's, half the 16-bit peak)")
    ap.add_argument("--log", action="store_true", help="log memory axis")
    args = ap.parse_args()
    main(Path(args.out), {"model": args.model, "compare": args.compare or None,
                          "context": args.context, "budget": args.budget,
                          "log": 1 if args.log else None})

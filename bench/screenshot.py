"""Screenshot of the frontier page for the README: `python -m bench.screenshot [docs/frontier.png]`.

Serves a synthetic artifact (see bench.synthetic) in a real uvicorn; drives headless Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.live import serve
from bench.synthetic import write_synthetic
from service.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def launch(playwright: Any) -> Any:
    """Debian's chromium, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_ready(page: Any, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector("#summary[data-state=ready]", timeout=timeout_ms)


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp), "Qwen2.5-7B-Instruct")
        settings = Settings(artifact_dir=Path(tmp), validations_dir=Path(tmp) / "v")
        with serve(settings) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            wait_ready(page)
            page.fill("#budget", "10")
            page.dispatch_event("#budget", "change")
            page.wait_for_selector("#summary[data-budget='10'][data-state=ready]")
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/frontier.png"))

"""The service through a real uvicorn on 127.0.0.1 (free port), with concurrent clients.

Checks the page assets are served locally (plotly.js from the plotly package).
"""

from __future__ import annotations

import asyncio

import httpx

from service.testing.live import serve
from service.testing.synthetic import CALIBRATED


def test_real_uvicorn_serves_api_and_page(settings):
    with serve(settings) as url:
        assert httpx.get(f"{url}/healthz").json()["artifacts_loaded"] == 1
        page = httpx.get(f"{url}/")
        assert page.status_code == 200
        assert "/static/plotly.min.js" in page.text
        js = httpx.get(f"{url}/static/plotly.min.js")
        assert js.status_code == 200
        assert len(js.content) > 1_000_000
        assert httpx.get(f"{url}/static/app.js").status_code == 200

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                bodies = [{"model": CALIBRATED, "context_tokens": 1000 + 97 * i,
                           "budget_gib": 10} for i in range(40)]
                rs = await asyncio.gather(*(client.post("/v1/frontier", json=b) for b in bodies))
                return [r.status_code for r in rs]

        assert asyncio.run(burst()) == [200] * 40
        assert httpx.post(f"{url}/v1/frontier", json={"model": "nope", "context_tokens": 1}
                          ).status_code == 404

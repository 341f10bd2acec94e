"""Run the service in a real uvicorn on 127.0.0.1 and a free port, for tests and benchmarks.

`serve(settings)` is a context manager yielding the base URL; the server stops on exit.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from service.main import create_app
from service.settings import Settings


async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str,
               path: str, body: bytes = b"") -> int:
    """One HTTP/1.1 request on a keep-alive connection; reads the answer, returns its status."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    writer.write(head + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout_s: float, alive: Callable[[], bool]) -> None:
    """Poll /healthz until 200; raise when the server died or the deadline passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not alive():
            raise RuntimeError(f"uvicorn did not start on {url}")
        time.sleep(0.05)


@contextmanager
def serve(settings: Settings, timeout_s: float = 30.0) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout_s, thread.is_alive)
    except RuntimeError:
        server.should_exit = True
        raise
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)

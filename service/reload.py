"""A reload reaches every worker: the worker that reloads writes a token to a marker file, and
each worker that sees a new token there (checked at most every `every_s`, on a request) reloads
its own registry. `uvicorn --workers N` runs N processes with N registries; without this an
admin reload would change one of them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path

TOKEN_BYTES = 64


def default_marker(artifact_dir: Path) -> Path:
    """A marker shared by the workers of one server (siblings: one parent process) serving one
    artifact folder, in the temp folder."""
    digest = hashlib.sha256(str(Path(artifact_dir).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"kvpareto-reload-{os.getppid()}-{digest}"


class ReloadSignal:
    """The marker's token as this worker last saw it (or wrote it)."""

    def __init__(self, path: Path, every_s: float = 0.5) -> None:
        self.path = path
        self.every_s = every_s
        self.seen = self.read()
        self.checked = time.monotonic()

    def read(self) -> str:
        """The token ('' when absent, or when the path is not a regular file: a FIFO there
        must never block a request)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return ""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            return os.read(fd, TOKEN_BYTES).decode("ascii", "replace")
        finally:
            os.close(fd)

    def announce(self) -> None:
        """Tell the other workers: a fresh token, written atomically."""
        token = f"{time.time_ns()}-{os.getpid()}"
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(token, encoding="ascii")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return  # a read-only temp folder: one worker reloaded, as without the marker
        self.seen = token

    def changed(self) -> bool:
        """Whether another worker announced a reload since this one last looked (rate-limited
        to one file read every `every_s`)."""
        now = time.monotonic()
        if now - self.checked < self.every_s:
            return False
        self.checked = now
        token = self.read()
        if token == self.seen:
            return False
        self.seen = token
        return True

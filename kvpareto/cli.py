"""The `kvpareto` entry point: the calibration CLI's app plus the answer commands.

Importing this module registers `frontier`, `recommend` and `capacity` on
`calibration.cli.app.app` (once per process); `main` runs it with the shared error path.
"""

from __future__ import annotations

import calibration.cli  # noqa: F401 (registers calibration's commands on the app)
from calibration.cli.app import app, register, run
from kvpareto.answers import capacity, frontier, recommend

register(frontier, recommend, capacity)
app.info.help = (
    "The `kvpareto` command line: the service's answers (frontier, recommend, capacity), the "
    "memory ledger and grid (torch-free), calibration, fit, validate.\n\nCommands that run "
    "models import torch lazily, so the answers and `kvpareto memory` work in a service-only\n"
    "install. Bad input prints one clear line and exits 2.\n"
)

__all__ = ["app", "main"]


def main() -> None:
    run()

"""The `kvpareto` command line (entry point `calibration.cli:main`).

`app` holds the typer app and the shared error path; the commands live in `ledger` (memory,
configs, models: torch-free), `calibrate`, `fit` and `validate`; `inputs` checks options.
"""

from __future__ import annotations

from calibration.cli.app import app, console, fail, register, run
from calibration.cli.calibrate import calibrate
from calibration.cli.fit import fit
from calibration.cli.ledger import configs, memory, models
from calibration.cli.validate import validate

register(memory, configs, models, calibrate, fit, validate)

__all__ = ["app", "console", "fail", "main"]


def main() -> None:
    run()

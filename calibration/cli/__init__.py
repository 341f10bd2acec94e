"""The `kvpareto` command line (entry point `calibration.cli:main`).

`app` holds the typer app and the shared error path; the commands live in `ledger` (memory,
configs, models: torch-free), `calibrate`, `probe` (memory only, any attention), `fit`,
`validate`, `rescore` and
`import_gguf` (`kvpareto import`); `inputs` checks options.
"""

from __future__ import annotations

from calibration.cli.app import app, console, fail, register, run
from calibration.cli.calibrate import calibrate
from calibration.cli.fit import fit
from calibration.cli.import_gguf import import_model
from calibration.cli.ledger import configs, memory, models
from calibration.cli.probe import probe
from calibration.cli.validate import rescore, validate

register(memory, configs, models, calibrate, probe, fit, validate, rescore)
register(import_model, name="import")  # `import` is a Python keyword

__all__ = ["app", "console", "fail", "main"]


def main() -> None:
    run()

"""Where the installed `models` package keeps its shipped data: the one default of each folder.

`service.settings` and `calibration.settings` both default to these (neither imports the other).
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
ARTIFACT_DIR = MODELS_DIR / "artifacts"  # per-model artifact JSON
VALIDATIONS_DIR = ARTIFACT_DIR / "validations"  # reports from `kvpareto validate`

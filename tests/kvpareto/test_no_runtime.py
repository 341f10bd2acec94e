"""The answer commands import no model runtime (a service-only install has none), nor what only
fitting or a results store needs (that is what keeps them fast). A fresh interpreter, so other
tests' imports cannot hide a leak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODE = """
import sys
from typer.testing import CliRunner
from kvpareto.cli import app
for args in (["frontier", "--model", "testbed-llama", "--context", "1024", "--plot", sys.argv[1]],
             ["recommend", "--model", "testbed-llama", "--context", "1024", "--budget", "0.004"],
             ["capacity", "--model", "Llama-3.1-8B-Instruct", "--budget", "8", "--json"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
banned = ("torch", "transformers", "awq", "ray", "sqlalchemy", "sklearn", "scipy.optimize")
print(sorted(m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned)))
"""


def test_answers_import_no_runtime_and_no_fitting_library(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", CODE, str(tmp_path / "f.png")],
                         capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"

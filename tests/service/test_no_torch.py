"""The service and the models it uses never import torch (the Docker image has none).

Runs in a fresh interpreter so other tests' imports cannot hide a leak.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from fastapi.testclient import TestClient
from service.main import create_app
with TestClient(create_app()) as c:
    c.post("/v1/frontier", json={"model": "Qwen2.5-7B-Instruct", "context_tokens": 100})
banned = ("torch", "transformers", "calibration")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in banned)
print(heavy)
sys.exit(1 if heavy else 0)
"""


def test_service_never_imports_torch():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr

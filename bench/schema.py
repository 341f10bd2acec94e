"""Schema fuzzing: schemathesis over every operation of the committed `openapi.yaml`, all checks.

`python -m bench.schema [--examples 300]`: a real uvicorn with the `make run` settings on a free
loopback port (admin routes on, with a throwaway token, over a synthetic artifact folder), then
`schemathesis run openapi.yaml --checks all` with `bench/schemathesis.toml`. Prints the
schemathesis summary and the number of server errors, responses off the schema and
undocumented status codes (each must be 0); exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.load import server_command
from service.testing.live import free_port, wait_healthy
from service.testing.synthetic import CALIBRATED, write_synthetic

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "bench" / "schemathesis.toml"
CATEGORIES = {  # schemathesis check → what the acceptance counts
    "not_a_server_error": "server errors",
    "response_schema_conformance": "responses off the schema",
    "status_code_conformance": "undocumented status codes",
}


def failures(ndjson: Path) -> Counter[str]:
    """Failed checks by name, from schemathesis's NDJSON event report."""
    out: Counter[str] = Counter()
    for line in ndjson.read_text().splitlines():
        for name, value in _checks(json.loads(line)):
            out[name] += value
    return out


def _checks(event: object) -> list[tuple[str, int]]:
    """(check name, 1) for every failed check anywhere in one event."""
    found: list[tuple[str, int]] = []
    if isinstance(event, dict):
        if str(event.get("status")).lower() == "failure" and isinstance(event.get("name"), str):
            found.append((event["name"], 1))
        for value in event.values():
            found += _checks(value)
    elif isinstance(event, list):
        for value in event:
            found += _checks(value)
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=300, help="examples per operation")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    port, token = free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="kvpareto-schema-") as tmp:
        folder = Path(tmp)
        write_synthetic(folder, CALIBRATED)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
               "KVPARETO_ARTIFACT_DIR": str(folder),
               "KVPARETO_VALIDATIONS_DIR": str(folder / "validations"),
               "KVPARETO_ADMIN_TOKEN": token}
        proc = subprocess.Popen(server_command(port), env=env, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, 60.0, lambda: proc.poll() is None)
            report = folder / "events.ndjson"
            cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
                   str(ROOT / "openapi.yaml"), "--url", base, "--checks", "all",
                   "--max-examples", str(args.examples), "--seed", str(args.seed),
                   "--header", f"Authorization: Bearer {token}", "--no-color",
                   "--report", "ndjson", "--report-ndjson-path", str(report)]
            run = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
            failed = failures(report) if report.exists() else Counter({"no report": 1})
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    for check, label in CATEGORIES.items():
        print(f"{label}: {failed.get(check, 0)}")
    others = {k: v for k, v in failed.items() if k not in CATEGORIES}
    print(f"other failed checks: {others or 0}")
    sys.exit(run.returncode or int(bool(failed)))


if __name__ == "__main__":
    main()

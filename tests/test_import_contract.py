"""The one-way import rule, read statically from every module (deferred imports included).

`models` is the torch-free analytical core: it imports neither `calibration` nor `service` nor a
model runtime. `service` uses `models` only. `calibration` may import `models`, never `service`.
`kvpareto` (the CLI's composition root) may import all three, never a model runtime.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = {"torch", "transformers", "awq", "accelerate", "safetensors", "gguf", "ray"}
FORBIDDEN = {
    "models": RUNTIMES | {"calibration", "service", "bench"},
    "service": RUNTIMES | {"calibration", "bench"},
    "calibration": {"service", "bench"},
    # the composition root: the CLI's answers import calibration (the app) and service (the
    # answers), never a model runtime
    "kvpareto": RUNTIMES | {"bench"},
}


def imported_roots(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, a.name.split(".")[0]) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, root in imported_roots(path):
            if root in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {root}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package):
    assert violations(package) == []


def test_the_checker_sees_a_deferred_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import torch.nn\n    from service.main import app\n")
    assert {root for _, root in imported_roots(module)} == {"torch", "service"}

"""The README and docs/ stay true: the README's Python runs and prints what it shows, its HTTP
requests are answered, the commands it shows exist, every relative link resolves, and the README
stays a front door (at most ~170 lines)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
MAX_README_LINES = 170


def blocks(page: Path) -> list[tuple[str, str, int, int]]:
    """(language, body, start, end) of every fenced block."""
    return [(m[1], m[2], m.start(), m.end()) for m in FENCE.finditer(page.read_text())]


def prose(page: Path) -> str:
    """The page without its fenced blocks (a `#` comment in a bash block is no heading)."""
    return FENCE.sub("", page.read_text())


def python_examples() -> list[tuple[str, str]]:
    """(code, expected stdout) of each README python block and the text block right after it."""
    text, found = README.read_text(), blocks(README)
    out = []
    for (lang, code, _, end), (next_lang, shown, start, _) in itertools.pairwise(found):
        if lang == "python":
            between = [line for line in text[end:start].splitlines() if line.strip()]
            assert next_lang == "text", "a python block is followed by its output (text)"
            assert len(between) <= 1, "at most one line between a python block and its output"
            out.append((code, shown))
    return out


def shell_lines(page: Path, program: str) -> list[str]:
    """Lines of the bash blocks that run `program`, continuation lines joined, comments cut."""
    lines = []
    for lang, body, _, _ in blocks(page):
        if lang == "bash":
            for line in body.replace("\\\n", " ").splitlines():
                command = line.split(" # ")[0].strip()
                if command.startswith(f"{program} "):
                    lines.append(" ".join(command.split()))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("example", python_examples(), ids=lambda e: e[0].split("\n")[0])
def test_readme_python_prints_what_it_shows(example):
    code, shown = example
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert printed.getvalue() == shown


def test_readme_has_a_python_example():
    assert python_examples()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.is_file(), f"{page.name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            anchors = {slug(h) for h in HEADING.findall(prose(file))}
            assert anchor in anchors, f"{page.name}: no heading #{anchor} in {file.name}"


def test_readme_is_a_front_door():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


def test_make_targets_shown_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = {t for page in PAGES for line in shell_lines(page, "make") for t in line.split()[1:]}
    assert {"run", "test", "setup"} <= targets
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"no make target {target}"


@pytest.mark.parametrize(
    "line", sorted({line for page in PAGES for line in shell_lines(page, "kvpareto")}))
def test_kvpareto_commands_shown_exist(line):
    from typer.testing import CliRunner

    from kvpareto.cli import app  # the composed CLI: calibration's commands and the answers

    words = shlex.split(line)
    result = CliRunner().invoke(app, [words[1], "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
        assert option in result.output, f"kvpareto {words[1]} has no {option}"


def curl_requests() -> list[tuple[str, dict[str, object]]]:
    out = []
    for line in shell_lines(README, "curl"):
        words = shlex.split(line)
        url = next(w for w in words if w.startswith("http"))
        out.append((re.sub(r"^https?://[^/]+", "", url), json.loads(words[words.index("-d") + 1])))
    return out


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    from service.main import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("request_", curl_requests(), ids=lambda r: r[0])
def test_readme_http_requests_are_answered(client, request_):
    path, body = request_
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    if path == "/v1/recommend":  # the README states the recommendation and its peak
        rec, text = response.json()["recommendation"], README.read_text()
        assert f"`{rec['config']}` at {rec['memory']['peak_bytes']:,} bytes" in text


def test_readme_layout_names_the_memory_modules():
    text = README.read_text()
    for module in (ROOT / "models" / "memory").glob("*.py"):
        assert module.stem == "__init__" or module.stem in text, module.name


def test_memory_page_lists_every_transient_term_and_phase():
    from models.memory import PHASES, TRANSIENT_TERMS

    page = (ROOT / "docs" / "memory.md").read_text()
    for name in (*TRANSIENT_TERMS, *PHASES):
        assert f"`{name}`" in page, name

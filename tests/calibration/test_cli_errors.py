"""Every CLI input error is ONE line `error: ...` on stderr naming the problem (and what is
allowed) with exit status 2, never a traceback (issue 18): bad or unwritable --db, a corrupt
config.json, an unsupported model_type, truncated safetensors, an out-of-range context, and
--device cuda without a GPU. The bad model folders are copies of the shipped testbed Llama."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calibration.cli import app
from models.specs import TESTBED_DIR

REPO = Path(__file__).resolve().parents[2]
TESTBED = TESTBED_DIR / "testbed-llama"


def model_copy(tmp_path: Path, damage: str | None = None) -> Path:
    """A copy of the testbed Llama, damaged as named."""
    folder = tmp_path / f"model-{damage or 'ok'}"
    shutil.copytree(TESTBED, folder)
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if damage == "corrupt-config":
        cfg_path.write_text(cfg_path.read_text()[:40])
    elif damage == "binary-config":
        cfg_path.write_bytes(b"\x00\xff\x01binary")
    elif damage == "model-type":
        cfg = json.loads(cfg_path.read_text())
        cfg["model_type"] = "nosuchmodel"
        cfg_path.write_text(json.dumps(cfg))
    elif damage == "header-cut":
        os.truncate(weights, 1000)
    elif damage == "data-cut":
        os.truncate(weights, weights.stat().st_size // 2)
    elif damage == "no-safetensors":
        weights.rename(folder / "pytorch_model.bin")
    return folder


CASES = {  # id: (command, damage, extra args (with {tmp}), expected words)
    "db-unknown-dialect": ("calibrate", None, ["--db", "postgresql+nosuch://x/y"],
                           "--db 'postgresql+nosuch://x/y': cannot open the results store"),
    "db-malformed-url": ("calibrate", None, ["--db", "://"], "cannot open the results store"),
    "db-folder-is-a-file": ("calibrate", None, ["--db", "{tmp}/a-file/runs.db"],
                            "cannot create its folder"),
    "db-missing-folder-url": ("calibrate", None, ["--db", "sqlite:///{tmp}/no/such/runs.db"],
                              "cannot open the results store"),
    "corrupt-config": ("calibrate", "corrupt-config", [], "config.json is not valid JSON"),
    "binary-config": ("calibrate", "binary-config", [], "config.json is not valid JSON"),
    "unsupported-model-type": ("calibrate", "model-type", [],
                               "model_type 'nosuchmodel' is not supported; supported: llama"),
    "safetensors-header-cut": ("calibrate", "header-cut", [],
                               "is not a complete safetensors file"),
    "safetensors-data-cut": ("calibrate", "data-cut", [], "model.safetensors is truncated"),
    "no-safetensors": ("calibrate", "no-safetensors", [], "only safetensors checkpoints"),
    "contexts-out-of-range": ("calibrate", None, ["--contexts", "1000000000000"],
                              "--contexts must lie in [1, 4096]"),
    "anchor-out-of-range": ("calibrate", None, ["--anchor-contexts", "8192"],
                            "--anchor-contexts must lie in [1, 4096]"),
    "device-cuda-without-gpu": ("calibrate", None, ["--device", "cuda"], "no CUDA GPU"),
    "device-unknown": ("calibrate", None, ["--device", "tpu"], "--device must be one of cpu"),
    "weights-unknown": ("calibrate", None, ["--weights", "w8"], "--weights 'w8': allowed for"),
    "threads-zero": ("calibrate", None, ["--threads", "0"], "--threads must be 1.."),
    "threads-beyond-cores": ("calibrate", None, ["--threads", "100000"], "this machine's CPUs"),
    "threads-with-ray": ("calibrate", None, ["--threads", "2", "--executor", "ray"],
                         "--threads applies to the local executor"),
    "group-zero": ("calibrate", None, ["--group", "0"], "--group must be 1..16; got 0"),
    "group-too-big": ("calibrate", None, ["--group", "17"], "--group must be 1..16; got 17"),
    "fit-corrupt-config": ("fit", "corrupt-config", [], "config.json is not valid JSON"),
    "fit-db-unknown-dialect": ("fit", None, ["--db", "nosuch://x"],
                               "cannot open the results store"),
    "validate-data-cut": ("validate", "data-cut", ["--context", "128"], "is truncated"),
    "validate-context-out-of-range": ("validate", None, ["--context", "1000000000000"],
                                      "--context must lie in [1, 4096]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_input_error_is_one_line_and_exit_2(case, tmp_path, monkeypatch, one_line_error):
    import torch

    command, damage, extra, needle = CASES[case]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    monkeypatch.setenv("KVPARETO_AWQ_DIR", str(tmp_path / "awq"))
    (tmp_path / "a-file").write_text("not a folder")
    model = model_copy(tmp_path, damage)
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    if "--db" not in args:
        args += ["--db", str(tmp_path / "runs.db")]
    r = CliRunner().invoke(app, [command, "--model", str(model), *args])
    one_line_error(r, needle)
    assert not (tmp_path / "runs.db").exists()  # refused before anything was written


def test_the_entry_point_prints_one_line_not_a_traceback(tmp_path):
    """The real process: `python -m calibration.cli` (what `kvpareto` runs)."""
    model = model_copy(tmp_path, "model-type")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "calibration.cli", "calibrate", "--model",
                        str(model), "--db", "nosuch://x"], capture_output=True, text=True,
                       env=env, cwd=REPO, timeout=300)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: model-model-type: model_type 'nosuchmodel' is not supported; supported: "
        "llama, qwen2, mistral"]
    assert "Traceback" not in p.stderr + p.stdout


@pytest.mark.parametrize(("args", "line"), [
    (["frontier", "--model", "testbed-llama", "--context", "abc"],
     "error: Invalid value for '--context': Input should be a valid integer, unable to parse "
     "string as an integer (see `kvpareto frontier --help`)"),
    (["frontier", "--model", "testbed-llama"],
     "error: Missing option '--context'. (see `kvpareto frontier --help`)"),
    (["memory", "--model", "testbed-llama", "--context", "1024", "--bogus", "1"],
     "error: No such option: --bogus (see `kvpareto memory --help`)"),
    (["nosuch"], "error: No such command 'nosuch'. (see `kvpareto --help`)"),
], ids=["bad-value", "missing", "unknown-option", "unknown-command"])
def test_a_mistyped_command_line_is_one_line_too(args, line):
    """click's usage errors (Typer's boxed panel before) get the one line every input error
    gets, exit status 2."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "kvpareto", *args], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [line]
    assert p.stdout == ""


def test_a_sqlalchemy_argument_error_is_an_input_error(capsys):
    """`guarded` knows SQLAlchemy's ArgumentError without importing sqlalchemy itself (the
    answer commands never load it): once sqlalchemy is loaded, its URL errors are one line."""
    import typer
    from sqlalchemy.exc import ArgumentError

    from calibration.cli.app import guarded

    @guarded
    def opens_a_store() -> None:
        raise ArgumentError("Could not parse SQLAlchemy URL from given URL string")

    with pytest.raises(typer.Exit) as exit_:
        opens_a_store()
    assert exit_.value.exit_code == 2
    assert capsys.readouterr().err == (
        "error: Could not parse SQLAlchemy URL from given URL string\n")


def test_an_unknown_error_is_not_swallowed():
    from calibration.cli.app import guarded

    @guarded
    def broken() -> None:
        raise KeyError("a bug, not an input error")

    with pytest.raises(KeyError):
        broken()

"""What cannot be converted faithfully is refused with ONE line `error: ...` and exit status 2
(as every CLI input error), before any folder is written: not a GGUF file, an architecture the
ledger cannot size, no tokenizer, no end-of-sequence token, an occupied --out, a bad --tie."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from calibration.cli import app

pytest.importorskip("gguf")
pytest.importorskip("transformers")


CASES = {  # id: (damage, extra args, expected words)
    "not-gguf": ("not-gguf", [], "is not a GGUF file"),
    "missing-file": ("missing", [], "No such GGUF file"),
    "unsupported-architecture": ("arch", [], "architecture 'gptneox' is not supported; "
                                             "supported: llama, qwen2, mistral"),
    "no-tokenizer": ("no-tokenizer", [], "no tokenizer in the GGUF metadata"),
    "no-eos": ("no-eos", [], "declares no end-of-sequence token"),
    "out-not-empty": (None, ["--out", "{tmp}/occupied"], "already exists and is not empty"),
    "bad-tie": (None, ["--tie", "both"], "--tie must be one of keep, output, input"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusal_is_one_line_and_exit_2(case, tmp_path, make_gguf, one_line_error):
    damage, extra, needle = CASES[case]
    path = make_gguf(damage)
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "keep.txt").write_text("mine")
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    r = CliRunner().invoke(app, ["import", "--gguf", str(path), *args])
    one_line_error(r, needle)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".*.partial"))
    assert (tmp_path / "occupied" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["calibrate", "fit"])
def test_model_option_refuses_a_bad_gguf(command, tmp_path, make_gguf, monkeypatch):
    monkeypatch.setenv("KVPARETO_MODEL_CACHE", str(tmp_path / "cache"))
    r = CliRunner().invoke(app, [command, "--model", str(make_gguf("no-tokenizer")),
                                 "--db", str(tmp_path / "runs.db")])
    assert r.exit_code == 2, (r.output, r.exception)
    assert r.stderr.strip().splitlines() == [
        "error: bad.gguf: no tokenizer in the GGUF metadata (tokenizer.ggml.model and "
        "tokenizer.ggml.tokens); a model without its own tokenizer cannot be converted "
        "faithfully"]
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "runs.db").exists()

"""Shared fixtures of the calibration tests: one intra-op thread, a tiny saved model folder.

torch is imported only by the fixtures and tests that run a model, so the torch-free tests here
(sampler, store, tasks) run where torch is not installed.
"""

import os
from pathlib import Path

import pytest

# read by torch when it first starts its thread pool: one intra-op thread, as set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama (hidden 256, 2 layers, 4 heads, 2 KV heads) + the testbed tokenizer."""
    from calibration.engine.tiny import tiny_model
    from calibration.testbed.tokenizer import build_tokenizer, save_tokenizer

    out = tmp_path_factory.mktemp("tiny-llama")
    # one AWQ folder per session, shared by every test that runs a w4 configuration
    os.environ.setdefault("KVPARETO_AWQ_DIR", str(tmp_path_factory.mktemp("awq")))
    tok = build_tokenizer()
    model = tiny_model("llama", vocab_size=len(tok))
    model.config.bos_token_id, model.config.eos_token_id = tok.bos_token_id, tok.eos_token_id
    model.config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    save_tokenizer(out)
    return out


def _one_line_error(result: object, needle: str) -> None:
    """A CLI refusal: exit 2, one `error: ` line on stderr naming `needle`, no traceback."""
    r = result  # typer.testing.Result
    assert r.exit_code == 2, (r.output, r.exception)  # type: ignore[attr-defined]
    lines = r.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, r.stderr  # type: ignore[attr-defined]
    assert lines[0].startswith("error: "), r.stderr  # type: ignore[attr-defined]
    assert needle in lines[0]
    assert "Traceback" not in r.output  # type: ignore[attr-defined]


@pytest.fixture
def one_line_error() -> object:
    """The check every CLI-refusal test makes (`one_line_error(result, needle)`)."""
    return _one_line_error

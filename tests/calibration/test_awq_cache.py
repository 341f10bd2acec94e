"""A SIGKILL during AWQ quantization leaves its temporary folder behind; the next start
(`awq_folder`, `kvpareto calibrate`) removes it, while a live quantization's folder (flocked by
its process) and one just made are kept (issue 18)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from calibration.awq_cache import awq_folder, clean_stale
from models.specs import TESTBED_DIR

REPO = Path(__file__).resolve().parents[2]
TESTBED = TESTBED_DIR / "testbed-llama"
# awq_folder with a quantization that never ends: it writes into its folder, then hangs
HANG = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import calibration.engine.awq as awq
    from calibration.awq_cache import awq_folder
    def quantize_awq(model_dir, out_dir, calib, group, duo_scaling=True):
        (Path(out_dir) / "started").write_text("x")
        time.sleep(600)
    awq.quantize_awq = quantize_awq
    awq_folder(Path(sys.argv[1]), "w4g64", calib_tokens=64, n=1)
""")


def _start_hanging(root: Path) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KVPARETO_AWQ_DIR": str(root),
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", HANG, str(TESTBED)], env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        started = list(root.glob(".*/started"))
        if started:
            return proc, started[0].parent
        assert proc.poll() is None, "the quantizing process died"
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the quantization never started")


def _age(folder: Path, seconds: float = 3600) -> None:
    t = time.time() - seconds
    os.utime(folder, (t, t))


def test_a_sigkilled_quantization_leaves_a_folder_the_next_start_removes(tmp_path):
    root = tmp_path / "awq"
    proc, tmp = _start_hanging(root)
    try:
        assert clean_stale(root, grace_s=0) == []  # alive: its flock keeps the folder
        assert tmp.is_dir()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert tmp.is_dir()
    assert tmp.name.startswith(f".{TESTBED.name}-w4g64.")
    assert clean_stale(root, grace_s=0) == [tmp]
    assert not tmp.exists()
    assert not any(root.iterdir())


def _passed_check(folder: Path) -> None:
    """A stored passing check (calibration.awq_check), for folders whose weights are fakes."""
    from calibration.awq_check import AwqCheck, write

    write(folder, AwqCheck(10.0, 11.0, 12.0, 100, 64))


def test_awq_folder_cleans_stale_temporary_folders_at_start(tmp_path, monkeypatch):
    root = tmp_path / "awq"
    monkeypatch.setenv("KVPARETO_AWQ_DIR", str(root))
    out = root / f"{TESTBED.name}-w4"  # a finished AWQ folder, newer than the 16-bit weights
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_text("")
    _passed_check(out)
    stale = root / f".{TESTBED.name}-w4.abc123"  # killed long ago: unlocked and old
    stale.mkdir()
    (stale / "model.safetensors").write_text("half")
    _age(stale)
    young = root / f".{TESTBED.name}-w4g32.def456"  # may be between mkdtemp and its lock
    young.mkdir()
    assert awq_folder(TESTBED, "w4") == out
    assert not stale.exists()
    assert young.is_dir()
    assert out.is_dir()


REAL = REPO / "models" / "real" / "SmolLM2-135M-Instruct"


def test_a_chat_model_calibrates_awq_on_real_prose(tmp_path, monkeypatch):
    """A real model's AWQ scales come from English prose (its chat template is there), the
    testbed's from its own task vocabulary."""
    import pytest

    import calibration.engine.awq as awq

    monkeypatch.setenv("KVPARETO_AWQ_DIR", str(tmp_path))
    seen: dict[str, list[list[int]]] = {}

    class Captured(Exception):
        pass

    def capture(model_dir, out_dir, calib, group, duo_scaling=True):  # stops before quantizing
        seen[Path(model_dir).name] = calib
        raise Captured

    monkeypatch.setattr(awq, "quantize_awq", capture)
    folders = [TESTBED] + ([REAL] if (REAL / "config.json").is_file() else [])
    for folder in folders:
        with pytest.raises(Captured):
            awq_folder(folder, "w4g64", calib_tokens=256, n=1)
    from transformers import AutoTokenizer

    from calibration.tasks import TASKS

    tok = AutoTokenizer.from_pretrained(TESTBED)
    first = TASKS["kv_retrieval"].generate(tok, 256, 1, seed=4242)[0]
    assert seen[TESTBED.name][0] == list(tok(first.context + first.question)["input_ids"])
    if REAL.name not in seen:
        pytest.skip(f"{REAL} absent (make real-models): only the testbed side was checked")
    text = AutoTokenizer.from_pretrained(REAL).decode(seen[REAL.name][0])
    assert " the " in text  # English prose


def test_a_finished_awq_folder_gets_the_tokenizer_files_it_lacks(tmp_path, monkeypatch):
    """A chat model's AWQ folder must template prompts as its 16-bit model does: a folder made
    without chat_template.jinja or tokenizer_config.json is repaired, the weights untouched."""
    from transformers import AutoTokenizer

    from calibration.engine.awq import TOKENIZER_FILES

    model = tmp_path / "chat-model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):
        (model / name).write_bytes((TESTBED / name).read_bytes())
    for name in TOKENIZER_FILES:
        if (TESTBED / name).is_file():
            (model / name).write_bytes((TESTBED / name).read_bytes())
    (model / "chat_template.jinja").write_text("{% for m in messages %}<{{ m['content'] }}>"
                                              "{% endfor %}")
    root = tmp_path / "awq"
    monkeypatch.setenv("KVPARETO_AWQ_DIR", str(root))
    out = root / "chat-model-w4g64"  # finished before the fix: weights, config, tokenizer.json
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_text("weights")
    (out / "tokenizer.json").write_bytes((model / "tokenizer.json").read_bytes())
    _passed_check(out)
    assert AutoTokenizer.from_pretrained(out).chat_template is None
    assert awq_folder(model, "w4g64") == out
    assert (out / "model.safetensors").read_text() == "weights"
    for name in ("chat_template.jinja", "tokenizer_config.json"):
        assert (out / name).read_bytes() == (model / name).read_bytes()
    msgs = [{"role": "user", "content": "hi"}]
    assert (AutoTokenizer.from_pretrained(out).apply_chat_template(msgs, tokenize=False)
            == AutoTokenizer.from_pretrained(model).apply_chat_template(msgs, tokenize=False))
    assert not list(out.glob(".*.part"))

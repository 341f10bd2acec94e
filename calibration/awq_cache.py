"""AWQ int4 folders of a 16-bit model, made once with calibration.engine.awq and then reused.

Kept under ``KVPARETO_AWQ_DIR`` (default runs/awq/<model>-<weights id>); written through a
temporary folder ``.<model>-<weights id>.<random>`` and renamed, so a killed sweep never leaves
half a checkpoint. The quantizing process holds an flock on its temporary folder; one that a
SIGKILL (or OOM kill) left behind is unlocked and is removed by `clean_stale` at the next start
(`awq_folder`, `kvpareto calibrate`). Every folder is checked once against its 16-bit model
(calibration.awq_check) before it is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from models.space import parse_config

CALIB_TASKS = ("kv_retrieval", "passkey")  # the testbed's vocabulary
PROSE_CALIB_TASKS = ("needle_prose", "passkey_prose")  # real English, for chat models
CALIB_SEED = 4242  # the AWQ search's prompts; calibration.awq_check holds out another seed
GRACE_S = 60.0  # a temporary folder this young may be between mkdtemp and its lock: kept


def awq_root() -> Path:
    return Path(os.environ.get("KVPARETO_AWQ_DIR", "runs/awq"))


def _locked(folder: Path) -> bool:
    """Whether a live process holds the flock of `folder` (an owner that died released it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return True  # gone, or not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def clean_stale(root: Path | None = None, grace_s: float = GRACE_S) -> list[Path]:
    """Remove the temporary folders of quantizations killed before they finished: unlocked and
    older than `grace_s`. Returns the folders removed."""
    root = awq_root() if root is None else root
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for folder in sorted(root.glob(".*.*")):
        try:
            young = now - folder.stat().st_mtime < grace_s
        except FileNotFoundError:
            continue
        if not folder.is_dir() or young or _locked(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextmanager
def _temporary_folder(out: Path) -> Iterator[Path]:
    """A locked temporary folder beside `out`, removed unless it was renamed into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    fd = os.open(tmp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed, released by the kernel on SIGKILL
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing left once renamed
        os.close(fd)


def _fresh(out: Path, model_dir: Path) -> bool:
    """An AWQ folder made after the 16-bit weights it was quantized from."""
    done, src = out / "model.safetensors", model_dir / "model.safetensors"
    if not (out / "config.json").is_file() or not done.is_file():
        return False
    return not src.is_file() or done.stat().st_mtime >= src.stat().st_mtime


def calibration_prompts(model_dir: Path, tokens: int, n: int, seed: int) -> list[list[int]]:
    """Token ids of n prompts a task of each calibration kind makes at `tokens` tokens."""
    from transformers import AutoTokenizer

    from calibration.tasks import TASKS

    tok = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=False)
    # a real model (it has a chat template) calibrates on real prose, not the testbed's numbers
    chat = bool(getattr(tok, "chat_template", None))
    return [list(tok(s.context + s.question)["input_ids"])
            for task in (PROSE_CALIB_TASKS if chat else CALIB_TASKS)
            for s in TASKS[task].generate(tok, tokens, n, seed=seed)]


def awq_folder(model_dir: Path, weights_id: str, calib_tokens: int = 256, n: int = 8) -> Path:
    """The AWQ folder for `weights_id` (w4, w4g64, w4g32) of the 16-bit model in model_dir,
    checked against it once (calibration.awq_check; ValueError with the figures if it fails)."""
    if (model_dir / "config.json").is_file() and "quantization_config" in (
        model_dir / "config.json"
    ).read_text():
        return model_dir  # already an AWQ checkpoint
    from calibration.awq_check import CHECK_SEED, checked, stored

    weights = parse_config(f"{weights_id}-k16v16-cfull").weights
    group = int(weights.group or 128)
    out = awq_root() / f"{model_dir.resolve().name}-{weights_id}"
    clean_stale()
    held_out = lambda: calibration_prompts(model_dir, calib_tokens, 2, seed=CHECK_SEED)  # noqa: E731
    calib = lambda: calibration_prompts(model_dir, calib_tokens, n, seed=CALIB_SEED)  # noqa: E731
    if not _fresh(out, model_dir):
        _make(model_dir, out, calib(), group, True)
    from calibration.engine.awq import copy_tokenizer

    copy_tokenizer(model_dir, out)  # repairs folders made before the chat template was copied
    before = stored(out)
    try:
        checked(model_dir, out, held_out, group, before.search if before else "duo")
    except ValueError as failed:
        if before is not None and before.search == "x-only":
            raise
        # AutoAWQ's default grid has no "no scaling" point; the paper's x-only grid does
        _make(model_dir, out, calib(), group, False)
        try:
            checked(model_dir, out, held_out, group, "x-only")
        except ValueError as again:
            raise ValueError(f"{again} (AutoAWQ's default scale grid failed too: {failed})"
                             ) from None
    return out


def _make(model_dir: Path, out: Path, calib: list[list[int]], group: int, duo: bool) -> None:
    """Quantize into a locked temporary folder, then put it in place of `out`."""
    from calibration.engine.awq import quantize_awq

    with _temporary_folder(out) as tmp:
        quantize_awq(model_dir, tmp, calib, group, duo_scaling=duo)
        if out.exists() and (not duo or not _fresh(out, model_dir)):
            shutil.rmtree(out, ignore_errors=True)  # stale, or the failed default-grid folder
        with contextlib.suppress(OSError):  # another worker finished first (removed on exit)
            os.replace(tmp, out)

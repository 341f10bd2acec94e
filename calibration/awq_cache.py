"""AWQ int4 folders of a 16-bit model, made once with calibration.engine.awq and then reused.

Kept under ``KVPARETO_AWQ_DIR`` (default runs/awq/<model>-<weights id>); written through a
temporary folder and renamed, so a killed sweep never leaves half a checkpoint.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from models.space import parse_config

CALIB_TASKS = ("kv_retrieval", "passkey")


def awq_root() -> Path:
    return Path(os.environ.get("KVPARETO_AWQ_DIR", "runs/awq"))


def _fresh(out: Path, model_dir: Path) -> bool:
    """An AWQ folder made after the 16-bit weights it was quantized from."""
    done, src = out / "model.safetensors", model_dir / "model.safetensors"
    if not (out / "config.json").is_file() or not done.is_file():
        return False
    return not src.is_file() or done.stat().st_mtime >= src.stat().st_mtime


def awq_folder(model_dir: Path, weights_id: str, calib_tokens: int = 256, n: int = 8) -> Path:
    """The AWQ folder for `weights_id` (w4, w4g64, w4g32) of the 16-bit model in model_dir."""
    if (model_dir / "config.json").is_file() and "quantization_config" in (
        model_dir / "config.json"
    ).read_text():
        return model_dir  # already an AWQ checkpoint
    weights = parse_config(f"{weights_id}-k16v16-cfull").weights
    out = awq_root() / f"{model_dir.resolve().name}-{weights_id}"
    if _fresh(out, model_dir):
        return out
    from transformers import AutoTokenizer

    from calibration.engine.awq import quantize_awq
    from calibration.tasks import TASKS

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    calib = []
    for task in CALIB_TASKS:
        for s in TASKS[task].generate(tok, calib_tokens, n, seed=4242):
            calib.append(list(tok(s.context + s.question)["input_ids"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        quantize_awq(model_dir, tmp, calib, int(weights.group or 128))
        if out.exists() and not _fresh(out, model_dir):
            shutil.rmtree(out, ignore_errors=True)  # stale: the 16-bit model was retrained
        try:
            os.replace(tmp, out)
        except OSError:  # another worker finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

"""calibration.awq_check: a broken AWQ folder is refused with its figures, a faithful one kept."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from calibration.awq_cache import awq_folder, calibration_prompts
from calibration.awq_check import MAX_RATIO, RECORD, AwqCheck, checked, stored

TESTBED = Path("models/testbed/testbed-llama")


def test_the_verdict_reads_the_ratio_and_refuses_nan() -> None:
    assert AwqCheck(20.0, 22.0, 23.0, 10, 64).ok
    assert not AwqCheck(20.0, 20.0 * MAX_RATIO * 1.01, 23.0, 10, 64).ok
    assert not AwqCheck(20.0, math.nan, 23.0, 10, 64).ok
    text = AwqCheck(18.8, 60187.0, 22.7, 511, 64).message(Path("f"))
    assert "60,187.0 vs 18.8" in text
    assert "plain rounding at group 64 gives 22.7" in text


def test_a_faithful_folder_passes_and_a_broken_one_is_refused(tmp_path) -> None:
    good = awq_folder(TESTBED, "w4g64")  # checked on the way
    record = stored(good)
    assert record is not None
    assert record.ok
    assert record.group == 64
    assert record.tokens > 500
    broken = _broken_copy(good, tmp_path / "broken")
    seqs = lambda: calibration_prompts(TESTBED, 256, 2, seed=4243)  # noqa: E731
    with pytest.raises(ValueError, match=r"not a faithful copy .* remove the folder"):
        checked(TESTBED, broken, seqs, 64)
    kept = json.loads((broken / RECORD).read_text())
    assert kept["ok"] is False
    assert kept["ratio"] > MAX_RATIO
    with pytest.raises(ValueError, match="not a faithful copy"):  # refused again from the record
        checked(TESTBED, broken, lambda: pytest.fail("measured twice"), 64)


def _fake_quantizer(source: Path, calls: list[bool]):
    def quantize(model_dir, out_dir, calib, group, duo_scaling=True):  # a copy, not a search
        calls.append(duo_scaling)
        shutil.copytree(source, out_dir, dirs_exist_ok=True)
        (Path(out_dir) / RECORD).unlink(missing_ok=True)
        return Path(out_dir)
    return quantize


def _failed_folder(source: Path, remade_from: Path, root: Path, monkeypatch
                   ) -> tuple[Path, list[bool]]:
    """An AWQ folder (a copy of `source`) whose stored check failed on the default grid, and a
    quantizer that remakes it as a copy of `remade_from`, logging its duo_scaling flags."""
    import calibration.engine.awq as awq
    from calibration.awq_check import write

    monkeypatch.setenv("KVPARETO_AWQ_DIR", str(root))
    out = root / f"{TESTBED.name}-w4g64"
    shutil.copytree(source, out)
    write(out, AwqCheck(10.0, 1000.0, 12.0, 100, 64))
    calls: list[bool] = []
    monkeypatch.setattr(awq, "quantize_awq", _fake_quantizer(remade_from, calls))
    return out, calls


def _broken_copy(good: Path, dest: Path) -> Path:
    """`good` with every 4-bit layer 40× too loud (the model stops speaking), unchecked."""
    shutil.copytree(good, dest)
    (dest / RECORD).unlink(missing_ok=True)
    weights = load_file(dest / "model.safetensors")
    weights = {k: v * 40 if k.endswith(".scales") else v for k, v in weights.items()}
    save_file(weights, dest / "model.safetensors", metadata={"format": "pt"})
    return dest


def test_a_folder_that_fails_is_remade_on_the_x_only_grid(tmp_path, monkeypatch) -> None:
    good = awq_folder(TESTBED, "w4g64")
    out, calls = _failed_folder(good, good, tmp_path / "awq", monkeypatch)
    assert awq_folder(TESTBED, "w4g64") == out
    assert calls == [False]  # remade once, without duo scaling
    record = stored(out)
    assert record is not None
    assert record.ok
    assert record.search == "x-only"
    assert awq_folder(TESTBED, "w4g64") == out  # kept from now on
    assert calls == [False]


def test_when_both_grids_fail_the_error_gives_both(tmp_path, monkeypatch) -> None:
    broken = _broken_copy(awq_folder(TESTBED, "w4g64"), tmp_path / "broken")
    _, calls = _failed_folder(broken, broken, tmp_path / "awq", monkeypatch)
    with pytest.raises(ValueError, match="default scale grid failed too") as e:
        awq_folder(TESTBED, "w4g64")
    assert "1,000.0 vs 10.0" in str(e.value)  # the first failure's figures
    assert calls == [False]
    with pytest.raises(ValueError, match="not a faithful copy"):  # no third try
        awq_folder(TESTBED, "w4g64")
    assert calls == [False]

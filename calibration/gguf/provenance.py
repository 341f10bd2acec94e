"""The provenance file written beside every converted folder: where the weights came from
(file, sha256, GGUF quant types), how they were turned into bf16 (tools, tying) and how close
the result is to the GGUF model (logit agreement on the fixed prompt)."""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE = "kvpareto_gguf.json"
FORMAT = "kvpareto-gguf-import/1"
TOOLS = ("kvpareto", "transformers", "gguf", "torch", "accelerate", "safetensors", "tokenizers")


def tool_versions() -> dict[str, str]:
    found = {}
    for name in TOOLS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


@dataclass
class Provenance:
    """Everything needed to say what a converted folder is and to redo it."""

    source_file: str
    source_sha256: str
    source_bytes: int
    architecture: str
    model_name: str
    file_type: str
    quant_types: dict[str, int]
    embedding_types: dict[str, str]
    tie: str  # keep | output | input
    tied_embeddings: bool
    dtype: str
    parameters: int
    weight_bytes: int  # sum of the safetensors tensors' bytes
    special_tokens: dict[str, str]
    tokenizer_fixes: dict[str, list[str]]  # field → [as transformers made it, as written]
    agreement: dict[str, dict[str, Any]]  # "folder_vs_converted", "folder_vs_gguf"
    seconds: dict[str, float]
    tools: dict[str, str] = field(default_factory=tool_versions)
    format: str = FORMAT

    def write(self, folder: Path) -> Path:
        path = Path(folder) / FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def read(folder: Path) -> Provenance | None:
    """The provenance of a converted folder, or None when it has none (or not ours)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        if doc.get("format") != FORMAT:
            return None
        return Provenance(**doc)
    except (json.JSONDecodeError, TypeError, AttributeError):
        return None

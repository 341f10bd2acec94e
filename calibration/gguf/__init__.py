"""GGUF files (llama.cpp / Ollama) as model sources: `import_gguf` converts one into an ordinary
bf16 Hugging Face folder with a provenance file; `cached_folder` does so once per file for
`--model FILE.gguf`. Modules: source (header facts, refusals), tokenizer, convert, agreement
(logits on a fixed prompt), provenance, cache."""

from __future__ import annotations

from calibration.gguf.cache import cached_folder
from calibration.gguf.convert import TIE_CHOICES, import_gguf, safetensors_bytes
from calibration.gguf.provenance import Provenance
from calibration.gguf.source import GgufError, read_source, sha256_file

__all__ = ["TIE_CHOICES", "GgufError", "Provenance", "cached_folder", "import_gguf",
           "read_source", "safetensors_bytes", "sha256_file"]

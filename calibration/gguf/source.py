"""A GGUF file as a model source: its header facts, read without loading a weight, and the
checks that refuse what cannot be converted faithfully (architecture, tokenizer, end token).

Only metadata is read here (numpy-backed `gguf.GGUFReader`, memory-mapped); no torch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# GGUF `general.architecture` → the transformers model_type it becomes: the dense full-attention
# decoders that both transformers' GGUF loader and the memory ledger support.
ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2", "mistral": "mistral"}
TOKENIZER_MODELS = ("gpt2", "llama")  # byte-level BPE, SentencePiece-style BPE
MAGIC = b"GGUF"
CHUNK_BYTES = 1 << 22


class GgufError(ValueError):
    """This GGUF file cannot be converted faithfully (the message says why)."""


@dataclass(frozen=True)
class SpecialTokens:
    """Ids the GGUF header declares, and their strings; the header is authoritative."""

    eos_token_id: int
    bos_token_id: int | None
    pad_token_id: int | None
    unk_token_id: int | None
    strings: dict[str, str] = field(default_factory=dict)  # "eos_token" → "<|im_end|>", …


@dataclass(frozen=True)
class GgufSource:
    """What the header of one GGUF file says."""

    path: Path
    architecture: str  # GGUF name (`general.architecture`)
    model_name: str  # `general.name`, or the file stem
    file_type: str  # `general.file_type` as llama.cpp names it (e.g. MOSTLY_Q4_K_M)
    tensor_types: dict[str, str]  # tensor name → GGML type (Q4_1, Q8_0, F32, …)
    tokenizer_model: str
    vocab_tokens: int
    special: SpecialTokens
    chat_template: str | None

    @property
    def model_type(self) -> str:
        return ARCHITECTURES[self.architecture]

    @property
    def quant_types(self) -> dict[str, int]:
        """GGML type → number of tensors stored in it, most frequent first."""
        return dict(Counter(self.tensor_types.values()).most_common())

    @property
    def has_separate_output(self) -> bool:
        """True when the file stores an `output.weight` of its own (embeddings not tied)."""
        return "output.weight" in self.tensor_types

    @property
    def embedding_types(self) -> dict[str, str]:
        return {k: v for k, v in self.tensor_types.items()
                if k in ("token_embd.weight", "output.weight")}


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """The file's sha256 as hex, read in 4 MiB chunks; `on_bytes(n)` after each chunk."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def _file_type_name(value: Any) -> str:
    from gguf import LlamaFileType

    try:
        return LlamaFileType(int(value)).name
    except (TypeError, ValueError):
        return "unknown"


def _special_tokens(reader: Any, tokens: Any, path: Path) -> SpecialTokens:
    n = len(tokens.data)
    ids: dict[str, int | None] = {}
    for name, key in (("eos_token", "eos_token_id"), ("bos_token", "bos_token_id"),
                      ("pad_token", "padding_token_id"), ("unk_token", "unknown_token_id")):
        value = _field(reader, f"tokenizer.ggml.{key}")
        if value is not None and not 0 <= int(value) < n:
            raise GgufError(f"{path.name}: tokenizer.ggml.{key} = {value} is outside the "
                            f"vocabulary of {n} tokens")
        ids[name] = None if value is None else int(value)
    eos = ids["eos_token"]
    if eos is None:
        raise GgufError(f"{path.name}: the tokenizer declares no end-of-sequence token "
                        "(tokenizer.ggml.eos_token_id); generation could not stop")
    strings = {name: str(tokens.contents(i)) for name, i in ids.items() if i is not None}
    return SpecialTokens(eos_token_id=eos, bos_token_id=ids["bos_token"],
                         pad_token_id=ids["pad_token"], unk_token_id=ids["unk_token"],
                         strings=strings)


def read_source(path: Path) -> GgufSource:
    """The header facts of `path`, or GgufError saying why it cannot be converted faithfully."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such GGUF file", str(path))
    with path.open("rb") as fh:
        if fh.read(4) != MAGIC:
            raise GgufError(f"{path} is not a GGUF file (no GGUF magic bytes)")
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - a damaged header: say so on one line
        raise GgufError(f"{path.name}: unreadable GGUF header ({type(exc).__name__}: "
                        f"{exc})") from None
    arch = str(_field(reader, "general.architecture") or "")
    if arch not in ARCHITECTURES:
        raise GgufError(f"{path.name}: architecture {arch!r} is not supported; supported: "
                        f"{', '.join(ARCHITECTURES)} (dense full-attention decoders)")
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    tok_model = _field(reader, "tokenizer.ggml.model")
    if tokens is None or not len(tokens.data) or tok_model is None:
        raise GgufError(f"{path.name}: no tokenizer in the GGUF metadata (tokenizer.ggml.model "
                        "and tokenizer.ggml.tokens); a model without its own tokenizer cannot "
                        "be converted faithfully")
    if tok_model not in TOKENIZER_MODELS:
        raise GgufError(f"{path.name}: tokenizer model {tok_model!r} is not supported; "
                        f"supported: {', '.join(TOKENIZER_MODELS)}")
    template = _field(reader, "tokenizer.chat_template")
    return GgufSource(
        path=path,
        architecture=arch,
        model_name=str(_field(reader, "general.name") or path.stem),
        file_type=_file_type_name(_field(reader, "general.file_type")),
        tensor_types={t.name: t.tensor_type.name for t in reader.tensors},
        tokenizer_model=str(tok_model),
        vocab_tokens=len(tokens.data),
        special=_special_tokens(reader, tokens, path),
        chat_template=None if template is None else str(template),
    )

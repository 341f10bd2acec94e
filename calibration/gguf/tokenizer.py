"""The tokenizer of a GGUF file, as transformers converts it, with its special tokens set
from the GGUF header (transformers 5.17 swaps bos/eos when converting a llama-class GGUF
tokenizer, so SmolLM2 and Qwen2.5 would end turns on the wrong token) and its chat template."""

from __future__ import annotations

from typing import Any

from calibration.gguf.source import GgufError, GgufSource


def load_tokenizer(source: GgufSource) -> tuple[Any, dict[str, list[str]]]:
    """(tokenizer, fixes): `fixes` maps each special token transformers got wrong to
    [what it made, what the GGUF header says]."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(source.path.parent), gguf_file=source.path.name,
                                            trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - transformers' converter refused: one line
        raise GgufError(f"{source.path.name}: transformers cannot convert its tokenizer "
                        f"({type(exc).__name__}: {exc})") from None
    if len(tok) < source.vocab_tokens:
        raise GgufError(f"{source.path.name}: the converted tokenizer has {len(tok)} tokens, the "
                        f"GGUF vocabulary {source.vocab_tokens}")
    fixes: dict[str, list[str]] = {}
    for name, text in source.special.strings.items():
        before = getattr(tok, name, None)
        if before != text:
            fixes[name] = [str(before), text]
            setattr(tok, name, text)
    ids = {"eos_token": source.special.eos_token_id, "bos_token": source.special.bos_token_id,
           "pad_token": source.special.pad_token_id, "unk_token": source.special.unk_token_id}
    for name, want in ids.items():
        got = getattr(tok, f"{name}_id", None)
        if want is not None and got != want:
            raise GgufError(f"{source.path.name}: {name} {source.special.strings[name]!r} maps "
                            f"to id {got} in the converted tokenizer, the GGUF says {want}")
    if getattr(tok, "clean_up_tokenization_spaces", False):
        # set by the llama-3 branch of the converter; transformers ignores it for BPE (with a
        # warning at every load), and upstream byte-level BPE tokenizers have it off
        fixes["clean_up_tokenization_spaces"] = ["True", "False"]
        tok.clean_up_tokenization_spaces = False
    if source.chat_template and tok.chat_template != source.chat_template:
        fixes["chat_template"] = ["missing" if not tok.chat_template else "different", "GGUF"]
        tok.chat_template = source.chat_template
    return tok, fixes

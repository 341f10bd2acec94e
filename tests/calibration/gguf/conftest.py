"""A tiny Llama GGUF written by the tests themselves with the `gguf` package: real Q8_0 / Q4_0
blocks (gguf.quants), F32 norms, and a byte-level BPE tokenizer with ChatML special tokens in
the metadata (ids 0-2 as SmolLM2: <|endoftext|>, <|im_start|>, <|im_end|>; eos = <|im_end|>).

Shapes (numpy order, [out, in] as in HF): hidden 64, 2 layers, 4 heads / 2 KV heads of 16,
MLP 128, vocabulary 3 + 256 + 8 = 267. Every quantized row is a multiple of 32 elements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, MLP = 64, 2, 4, 2, 16, 128
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "r e"]
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\n' }}{% endif %}")


def byte_chars() -> list[str]:
    """GPT-2's printable stand-in for each of the 256 bytes (byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs, strict=True))]


def vocabulary() -> list[str]:
    return SPECIALS + byte_chars() + [m.replace(" ", "") for m in MERGES]


@dataclass
class TinyGguf:
    """The file and what went into it: the dequantized GGUF tensors (numpy, GGUF layout)."""

    path: Path
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    heads: int = HEADS
    kv_heads: int = KV_HEADS
    chat_template: str = CHATML


def write_tiny_gguf(path: Path, *, arch: str = "llama", tokenizer: bool = True,
                    eos: bool = True, output: bool = False, seed: int = 0) -> TinyGguf:
    """Write the tiny model to `path`; `output` adds a separate (Q8_0) output matrix."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name("tiny-gguf-test")
    w.add_block_count(LAYERS)
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(MLP)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    w.add_vocab_size(len(vocab))
    if tokenizer:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("default")
        w.add_token_list(vocab)
        w.add_token_types([gguf.TokenType.CONTROL] * len(SPECIALS)
                          + [gguf.TokenType.NORMAL] * (len(vocab) - len(SPECIALS)))
        w.add_token_merges(MERGES)
        w.add_bos_token_id(1)
        if eos:
            w.add_eos_token_id(2)
        w.add_pad_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(False)
        w.add_chat_template(CHATML)
    made = TinyGguf(path)
    q8, q4 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0

    def add(name: str, shape: tuple[int, ...], qtype: Any = None, scale: float = 0.08) -> None:
        if qtype is None:  # a norm weight: F32 around 1
            data = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
            w.add_tensor(name, data)
            made.tensors[name], made.types[name] = data, "F32"
            return
        data = (scale * rng.standard_normal(shape)).astype(np.float32)
        blocks = gguf.quants.quantize(data, qtype)
        w.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=qtype)
        made.tensors[name] = gguf.quants.dequantize(blocks, qtype)
        made.types[name] = qtype.name

    add("token_embd.weight", (len(vocab), HIDDEN), q8, scale=0.5)
    for i in range(LAYERS):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (HIDDEN,))
        add(p + "attn_q.weight", (HEADS * HEAD_DIM, HIDDEN), q4)
        add(p + "attn_k.weight", (KV_HEADS * HEAD_DIM, HIDDEN), q4)
        add(p + "attn_v.weight", (KV_HEADS * HEAD_DIM, HIDDEN), q8)
        add(p + "attn_output.weight", (HIDDEN, HEADS * HEAD_DIM), q4)
        add(p + "ffn_norm.weight", (HIDDEN,))
        add(p + "ffn_gate.weight", (MLP, HIDDEN), q4)
        add(p + "ffn_up.weight", (MLP, HIDDEN), q4)
        add(p + "ffn_down.weight", (HIDDEN, MLP), q4)
    add("output_norm.weight", (HIDDEN,))
    if output:
        add("output.weight", (len(vocab), HIDDEN), q8, scale=0.5)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return made


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> TinyGguf:
    return write_tiny_gguf(tmp_path / "tiny.Q4_0.gguf")


@pytest.fixture
def tiny_gguf_untied(tmp_path: Path) -> TinyGguf:
    return write_tiny_gguf(tmp_path / "tiny-untied.Q4_0.gguf", output=True)


@pytest.fixture
def make_gguf(tmp_path: Path) -> Callable[[str | None], Path]:
    """`make_gguf(damage)`: the tiny GGUF, or one damaged as named (the file is `bad.gguf`)."""

    def make(damage: str | None) -> Path:
        path = tmp_path / "bad.gguf"
        if damage == "missing":
            return path
        if damage == "not-gguf":
            path.write_bytes(b"PK\x03\x04 a zip file, not a model")
            return path
        kinds = {"arch": {"arch": "gptneox"}, "no-tokenizer": {"tokenizer": False},
                 "no-eos": {"eos": False}}
        write_tiny_gguf(path, **kinds.get(damage or "", {}))  # type: ignore[arg-type]
        return path

    return make

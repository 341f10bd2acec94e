"""The testbed's word-level tokenizer: one token per word of the task vocabulary.

Built with the `tokenizers` library (WordLevel + Whitespace); saved so AutoTokenizer loads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from calibration.tasks.words import SPECIAL_TOKENS, vocabulary

PAD, BOS, EOS, UNK = SPECIAL_TOKENS


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Word-level tokenizer over `calibration.tasks.words.vocabulary()`; it prepends <bos>.

    Every word is also registered as a whole-word added token. transformers rebuilds Qwen2
    tokenizers as byte-level BPE from the vocabulary (ignoring the WordLevel model); the added
    tokens make that rebuild encode exactly like the WordLevel model (the spaces between words
    fall out), so one tokenizer.json serves Llama, Mistral and Qwen2 folders. Side effect: a
    Qwen2 folder's tokenizer decodes without spaces between words; scorers ignore whitespace.
    """
    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab[BOS])]
    )
    tok.add_special_tokens([AddedToken(w, special=True, normalized=False) for w in SPECIAL_TOKENS])
    words = [w for w in vocab if w not in SPECIAL_TOKENS]
    tok.add_tokens(
        [AddedToken(w, single_word=True, normalized=False, special=False) for w in words]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=1 << 20,
        clean_up_tokenization_spaces=False,
    )


def save_tokenizer(out_dir: str | Path) -> PreTrainedTokenizerFast:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json into out_dir."""
    tok = build_tokenizer()
    tok.save_pretrained(str(out_dir))
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK}
    (Path(out_dir) / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    return tok

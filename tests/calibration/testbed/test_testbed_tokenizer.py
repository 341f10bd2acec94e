"""The testbed tokenizer: one token per task word, loads through AutoTokenizer for every arch."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from calibration.tasks import TASKS
from calibration.tasks.words import vocabulary
from calibration.testbed.architectures import ARCHS, Dims, make_config
from calibration.testbed.tokenizer import build_tokenizer, save_tokenizer


def test_one_token_per_word_and_bos_first() -> None:
    tok = build_tokenizer()
    assert len(tok) == len(vocabulary())
    assert 300 <= len(tok) <= 1200
    ids = tok("the value of amber fox is 417 .")["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert len(ids) == 9
    assert tok.unk_token_id not in ids
    assert tok("zebrafish")["input_ids"][1:] == [tok.unk_token_id]
    assert tok.decode(ids, skip_special_tokens=True) == "the value of amber fox is 417 ."


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_auto_tokenizer_loads_the_same_encoding_for_every_arch(arch: str, tmp_path: Path) -> None:
    tok = build_tokenizer()
    make_config(
        arch, Dims(), len(tok), tok.pad_token_id, tok.bos_token_id, tok.eos_token_id
    ).save_pretrained(tmp_path)
    save_tokenizer(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (tmp_path / name).is_file()
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    s = TASKS["kv_retrieval"].generate(loaded, 700, 1, seed=0)[0]
    text = s.context + s.question + " " + s.answer + " ."
    assert loaded(text)["input_ids"] == tok(text)["input_ids"]
    assert (loaded.bos_token_id, loaded.eos_token_id, loaded.pad_token_id) == (1, 2, 0)
    answer_ids = loaded(" " + s.answer, add_special_tokens=False)["input_ids"]
    assert (
        TASKS["kv_retrieval"].score(
            loaded.decode(answer_ids + [loaded.convert_tokens_to_ids(".")]), s
        )
        == 1.0
    )

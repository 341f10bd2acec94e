"""Prose tasks for real instruct models: seeded, ±1% in the model's tokens, chat-templated,
answers in the context, filler taken verbatim from the prose source, difficulty knobs honoured."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from calibration.tasks import PROSE_TASKS, KVUuid, NeedleProse, PasskeyProse, VarTrackProse
from calibration.tasks.base import LENGTH_TOLERANCE, prompt_tokens
from calibration.tasks.prose import REPLY, ProseFiller, chat_parts, corpus, source_documents

NAMES = sorted(PROSE_TASKS)
SMOL = Path(__file__).resolve().parents[3] / "models" / "real" / "SmolLM2-135M-Instruct"
CHATML = (
    "{{ '<|im_start|>system\\nYou are a test assistant.<|im_end|>\\n' }}"
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + "
    "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# The sentences a task inserts into the prose (each followed by a space unless last).
INSERTS = {
    "passkey_prose": r"The pass key is \d+\. Remember it\. \d+ is the pass key\.|"
                     r"The number \d+ is not the pass key\.",
    "needle_prose": r"One of the special magic numbers for \w+ is: \d+\.",
    "kv_uuid": r"The value of key [0-9a-f-]{36} is [0-9a-f-]{36}\.",
    "vartrack_prose": r"The variable [A-Z]{5} is set to "
                      r"(?:the value of the variable [A-Z]{5}|\d+)\.",
}


def _bpe(chat_template: str | None) -> PreTrainedTokenizerFast:
    """A 600-token byte-level BPE trained on the prose corpus, ChatML special tokens."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([s.text for s in corpus()[:400]], trainer)
    out = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                  bos_token="<|im_start|>")
    out.chat_template = chat_template
    return out


@pytest.fixture(scope="module")
def chat_tokenizer() -> PreTrainedTokenizerFast:
    return _bpe(CHATML)


@pytest.fixture(scope="module")
def plain_tokenizer() -> PreTrainedTokenizerFast:
    return _bpe(None)


@pytest.fixture(scope="module")
def smol_tokenizer() -> PreTrainedTokenizerFast:
    if not (SMOL / "tokenizer.json").is_file():
        pytest.skip(f"{SMOL} absent (make real-models converts it)")
    return AutoTokenizer.from_pretrained(SMOL, trust_remote_code=False)


@pytest.mark.parametrize("length", [1200, 2500], ids=lambda n: f"L{n}")
@pytest.mark.parametrize("name", NAMES)
def test_length_within_one_percent_built_tokenizer(name: str, length: int,
                                                   chat_tokenizer) -> None:
    for s in PROSE_TASKS[name].generate(chat_tokenizer, length, 2, seed=3):
        got = prompt_tokens(chat_tokenizer, s.context, s.question)
        assert abs(got - length) <= max(1, LENGTH_TOLERANCE * length), (name, got)


@pytest.mark.parametrize("length", [1024, 2048], ids=lambda n: f"L{n}")
@pytest.mark.parametrize("name", NAMES)
def test_length_and_split_with_the_real_tokenizer(name: str, length: int,
                                                  smol_tokenizer) -> None:
    tok = smol_tokenizer
    for s in PROSE_TASKS[name].generate(tok, length, 2, seed=0):
        got = prompt_tokens(tok, s.context, s.question)
        assert abs(got - length) <= LENGTH_TOLERANCE * length, (name, got)
        # the harness encodes context and question apart: their tokens must add up
        split = len(tok(s.context)["input_ids"])
        split += len(tok(s.question, add_special_tokens=False)["input_ids"])
        assert split == got
        budget = getattr(PROSE_TASKS[name], "max_new_tokens", 12)
        assert len(tok(" " + s.answer, add_special_tokens=False)["input_ids"]) < budget


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_prompts_other_seed_other_prompts(name: str, chat_tokenizer) -> None:
    task = PROSE_TASKS[name]
    a = task.generate(chat_tokenizer, 1200, 3, seed=1)
    assert a == task.generate(chat_tokenizer, 1200, 3, seed=1)
    assert a != task.generate(chat_tokenizer, 1200, 3, seed=2)
    assert len({s.context for s in a}) == 3


@pytest.mark.parametrize("name", NAMES)
def test_answer_is_in_the_context_and_varies(name: str, chat_tokenizer) -> None:
    samples = PROSE_TASKS[name].generate(chat_tokenizer, 1200, 8, seed=0)
    for s in samples:
        assert s.answer in s.context
        assert s.answer not in s.question
        assert s.task == name
    assert len({s.answer for s in samples}) >= 6


@pytest.mark.parametrize("name", NAMES)
def test_chat_template_wraps_context_and_question(name: str, chat_tokenizer) -> None:
    s = PROSE_TASKS[name].generate(chat_tokenizer, 1200, 1, seed=0)[0]
    head, tail = chat_parts(chat_tokenizer)
    assert head == "<|im_start|>system\nYou are a test assistant.<|im_end|>\n<|im_start|>user\n"
    assert tail == "<|im_end|>\n<|im_start|>assistant\n"
    assert s.context.startswith(head + PROSE_TASKS[name].lead)
    assert "<|im_end|>" not in s.context[len(head):]  # the user turn stays open in the context
    assert tail in s.question
    assert REPLY not in s.question
    assert s.question.split(tail)[1].startswith("The ")  # the assistant's answer is opened


def test_without_a_chat_template_the_prompt_is_plain_text(plain_tokenizer) -> None:
    s = PROSE_TASKS["kv_uuid"].generate(plain_tokenizer, 1200, 1, seed=0)[0]
    assert s.context.startswith(PROSE_TASKS["kv_uuid"].lead)
    assert "<|im_start|>" not in s.context + s.question


def test_real_chat_template_is_smollm2s(smol_tokenizer) -> None:
    s = PROSE_TASKS["needle_prose"].generate(smol_tokenizer, 1024, 1, seed=0)[0]
    assert s.context.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert "<|im_end|>\n<|im_start|>assistant\nThe special magic number for " in s.question


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_every_corpus_sentence_is_verbatim_in_the_source() -> None:
    docs = [_normal(text) for _, text in source_documents()]
    sentences = corpus()
    assert len(sentences) > 1000
    for s in sentences:
        assert any(s.text in d for d in docs), s.text


@pytest.mark.parametrize("name", NAMES)
def test_filler_is_the_source_in_order_no_invented_words(name: str, chat_tokenizer) -> None:
    stream = _normal(" ".join(s.text for s in corpus()))
    stream += " " + stream  # the filler wraps around at the end of the corpus
    task = PROSE_TASKS[name]
    head, _ = chat_parts(chat_tokenizer)
    for s in task.generate(chat_tokenizer, 1200, 3, seed=7):
        body = s.context[len(head) + len(task.lead):]
        body = re.sub(INSERTS[name], " ", body)
        body = re.sub(r"( \.)+$", "", _normal(body))  # the length padding
        assert len(body.split()) > 100
        assert _normal(body) in stream


def test_filler_starts_at_a_seeded_offset() -> None:
    import random

    starts = {ProseFiller(random.Random(i)).start for i in range(5)}
    assert len(starts) == 5


@pytest.mark.parametrize("n_pairs", [1, 4, 16])
def test_kv_uuid_pair_count_is_the_knob(n_pairs: int, chat_tokenizer) -> None:
    s = KVUuid(n_pairs=n_pairs).generate(chat_tokenizer, 2500, 1, seed=0)[0]
    assert len(re.findall(INSERTS["kv_uuid"], s.context)) == n_pairs
    assert f"{s.answer}." in s.context
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", s.answer)


@pytest.mark.parametrize("n_keys", [1, 3, 8])
def test_needle_key_count_is_the_knob(n_keys: int, chat_tokenizer) -> None:
    s = NeedleProse(n_keys=n_keys).generate(chat_tokenizer, 800, 1, seed=0)[0]
    needles = re.findall(r"numbers for (\w+) is: (\d+)\.", s.context)
    assert len(needles) == n_keys
    assert (re.findall(r"number for (\w+) mentioned", s.question)[0], s.answer) in needles


@pytest.mark.parametrize(("hops", "n_chains"), [(0, 1), (2, 2), (4, 3)])
def test_vartrack_chain_resolves_to_the_answer(hops: int, n_chains: int, chat_tokenizer) -> None:
    s = VarTrackProse(hops=hops, n_chains=n_chains).generate(chat_tokenizer, 800, 1, seed=0)[0]
    record = r"variable ([A-Z]{5}) is set to (?:the value of the variable )?(\w+)\."
    assigned = dict(re.findall(record, s.context))
    assert len(assigned) == (hops + 1) * n_chains
    var = re.findall(r"variable ([A-Z]{5})\?", s.question)[0]
    for _ in range(hops):
        var = assigned[var]
    assert assigned[var] == s.answer


@pytest.mark.parametrize("decoys", [0, 5])
def test_passkey_decoys(decoys: int, chat_tokenizer) -> None:
    s = PasskeyProse(decoys=decoys).generate(chat_tokenizer, 800, 1, seed=0)[0]
    assert len(re.findall(r"is not the pass key", s.context)) == decoys
    assert f"The pass key is {s.answer}." in s.context


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (KVUuid(n_pairs=0), "n_pairs must be in"),
        (NeedleProse(n_keys=99), "n_keys must be in"),
        (VarTrackProse(hops=-1), "hops in"),
        (PasskeyProse(digits=2), "digits in"),
    ],
    ids=["kv-pairs", "needle-keys", "vartrack-hops", "passkey-digits"],
)
def test_bad_settings_are_rejected(task, message: str, chat_tokenizer) -> None:
    with pytest.raises(ValueError, match=message):
        task.generate(chat_tokenizer, 500, 1, seed=0)


def test_too_short_a_prompt_is_a_clear_error(chat_tokenizer) -> None:
    with pytest.raises(ValueError, match="too small"):
        dataclasses.replace(PROSE_TASKS["kv_uuid"], n_pairs=50).generate(
            chat_tokenizer, 200, 1, seed=0)


def test_no_prose_source_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)
    monkeypatch.setattr("calibration.tasks.prose.LICENCE_DIR", tmp_path)
    with pytest.raises(ValueError, match="no English prose found"):
        source_documents()


def test_scorer_is_exact_match_on_the_first_sentence() -> None:
    task = PROSE_TASKS["kv_uuid"]
    s = task.generate(_bpe(CHATML), 1200, 1, seed=0)[0]
    assert task.score(f" {s.answer}.\nThe end", s) == 1.0
    assert task.score(f" {s.answer[:-1]}", s) == 0.0

"""Tokenizers for the task tests: the testbed word-level one and a tiny byte-level BPE."""

from __future__ import annotations

import random

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from calibration.tasks import words as W
from calibration.tasks.filler import sentence
from calibration.testbed.tokenizer import build_tokenizer


@pytest.fixture(scope="session")
def testbed_tokenizer() -> PreTrainedTokenizerFast:
    return build_tokenizer()


@pytest.fixture(scope="session")
def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A 400-token byte-level BPE trained on task-like text (words split into several tokens)."""
    rng = random.Random(0)
    corpus = [" ".join(sentence(rng)) for _ in range(300)]
    corpus += [" ".join(W.vocabulary()[4:])] * 3
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


@pytest.fixture(params=["testbed", "bpe"])
def any_tokenizer(
    request: pytest.FixtureRequest,
    testbed_tokenizer: PreTrainedTokenizerFast,
    bpe_tokenizer: PreTrainedTokenizerFast,
) -> PreTrainedTokenizerFast:
    return testbed_tokenizer if request.param == "testbed" else bpe_tokenizer

"""Every registered task: exact prompt length, determinism, in-vocabulary text, short answers."""

from __future__ import annotations

import pytest

from calibration.tasks import PROSE_TASKS, TASKS, TESTBED_TASKS, Task
from calibration.tasks.base import LENGTH_TOLERANCE, prompt_tokens

NAMES = sorted(TESTBED_TASKS)  # the prose tasks are tested in test_prose.py


def test_registry_names_match_tasks() -> None:
    assert set(TESTBED_TASKS) == {
        "passkey",
        "needle",
        "kv_retrieval",
        "variable_tracking",
        "frequent_words",
    }
    assert set(PROSE_TASKS) == {"passkey_prose", "needle_prose", "kv_uuid", "vartrack_prose"}
    assert TASKS == {**TESTBED_TASKS, **PROSE_TASKS}
    for name, task in TASKS.items():
        assert isinstance(task, Task)
        assert task.name == name


@pytest.mark.parametrize("length", [512, 1000, 3000], ids=lambda n: f"L{n}")
@pytest.mark.parametrize("name", NAMES)
def test_prompt_length_within_one_percent(name: str, length: int, any_tokenizer) -> None:
    for s in TASKS[name].generate(any_tokenizer, length, 2, seed=3):
        got = prompt_tokens(any_tokenizer, s.context, s.question)
        assert abs(got - length) <= max(1, LENGTH_TOLERANCE * length), (name, got)


@pytest.mark.parametrize("name", NAMES)
def test_word_level_length_is_exact(name: str, testbed_tokenizer) -> None:
    s = TASKS[name].generate(testbed_tokenizer, 777, 1, seed=0)[0]
    assert prompt_tokens(testbed_tokenizer, s.context, s.question) == 777


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_prompts_other_seed_other_prompts(name: str, testbed_tokenizer) -> None:
    task = TASKS[name]
    a = task.generate(testbed_tokenizer, 512, 3, seed=1)
    assert a == task.generate(testbed_tokenizer, 512, 3, seed=1)
    assert a != task.generate(testbed_tokenizer, 512, 3, seed=2)
    assert len({s.context for s in a}) == 3  # samples within one call differ too


@pytest.mark.parametrize("name", NAMES)
def test_text_is_in_testbed_vocabulary_and_answer_is_short(name: str, testbed_tokenizer) -> None:
    unk = testbed_tokenizer.unk_token_id
    for s in TASKS[name].generate(testbed_tokenizer, 400, 4, seed=5):
        ids = testbed_tokenizer(s.context + s.question + " " + s.answer)["input_ids"]
        assert unk not in ids
        n_answer = len(testbed_tokenizer(s.answer, add_special_tokens=False)["input_ids"])
        assert 1 <= n_answer <= 3
        assert s.question.startswith(" question : ")
        assert s.task == name


@pytest.mark.parametrize("name", NAMES)
def test_answers_vary_over_samples(name: str, testbed_tokenizer) -> None:
    answers = {s.answer for s in TASKS[name].generate(testbed_tokenizer, 300, 12, seed=0)}
    assert len(answers) >= 4


@pytest.mark.parametrize("name", NAMES)
def test_too_short_a_prompt_is_a_clear_error(name: str, testbed_tokenizer) -> None:
    with pytest.raises(ValueError, match="too small"):
        TASKS[name].generate(testbed_tokenizer, 8, 1, seed=0)

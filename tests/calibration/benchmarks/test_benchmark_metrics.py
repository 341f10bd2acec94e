"""Benchmark metrics against hand-computed values."""

from __future__ import annotations

import pytest

from calibration.benchmarks.metrics import (
    choice_letter,
    final_number,
    normalize_answer,
    rouge_l,
    token_f1,
)


@pytest.mark.parametrize(
    ("pred", "ref", "f1"),
    [
        ("the cat sat", "cat sat", 1.0),
        ("a dog", "cat", 0.0),
        ("cat dog", "cat", 2 / 3),
        ("", "cat", 0.0),
    ],
    ids=["articles-ignored", "disjoint", "partial", "empty"],
)
def test_token_f1(pred: str, ref: str, f1: float) -> None:
    assert token_f1(pred, ref) == pytest.approx(f1)


def test_rouge_l_uses_subsequence_order() -> None:
    assert rouge_l("a b c d", "a b c d") == 1.0
    assert rouge_l("d c b a", "a b c d") == pytest.approx(0.25)  # LCS 1 of 4
    assert rouge_l("a x c", "a b c") == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("#### 1,234", "1234"),
        ("costs $2.50 then 7", "7"),
        ("2.50", "2.5"),
        ("x #### -3 and 5", "-3"),
        ("none", None),
    ],
    ids=["hashes-commas", "last-number", "trailing-zero", "hashes-first", "missing"],
)
def test_final_number(text: str, number: str | None) -> None:
    assert final_number(text) == number


@pytest.mark.parametrize(
    ("text", "letter"),
    [("B", "B"), ("(D)", "D"), ("Answer: A.", "A"), ("E", None), ("Because", None)],
    ids=["bare", "parens", "prefixed", "out-of-range", "inside-word"],
)
def test_choice_letter(text: str, letter: str | None) -> None:
    assert choice_letter(text, 4) == letter


def test_normalize_answer() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"

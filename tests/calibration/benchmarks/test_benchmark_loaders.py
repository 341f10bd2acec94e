"""Local JSONL benchmark loaders: records become Samples, bad files name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.benchmarks import BENCHMARKS, BenchmarkFileError
from calibration.tasks.base import Sample


def write(tmp_path: Path, name: str, lines: list[object]) -> Path:
    p = tmp_path / name
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def test_registry() -> None:
    assert set(BENCHMARKS) == {"longbench", "longbench_rouge", "gsm8k", "mmlu"}


def test_longbench_loads_and_scores_f1(tmp_path: Path) -> None:
    rec = {"context": "Ada wrote notes.", "input": "Who wrote?", "answers": ["Ada Lovelace", "Ada"]}
    p = write(tmp_path, "hotpotqa.jsonl", [rec, "", {**rec, "answers": "Bob"}])
    lb = BENCHMARKS["longbench"]
    samples = lb.load(str(p))
    assert len(samples) == 2
    assert isinstance(samples[0], Sample)
    s = samples[0]
    assert s.context == "Ada wrote notes."
    assert "Who wrote?" in s.question
    assert s.accepted == ("Ada Lovelace", "Ada")
    assert lb.score("Ada Lovelace", s) == 1.0
    assert lb.score("The answer is Ada\nmore text", s) == pytest.approx(2 * (1 / 3) / (1 / 3 + 1))
    assert lb.score("Charles Babbage", s) == 0.0
    assert samples[1].answer == "Bob"
    assert len(lb.load(str(p), limit=1)) == 1


def test_longbench_rouge_variant(tmp_path: Path) -> None:
    p = write(tmp_path, "gov.jsonl", [{"context": "c", "input": "q", "answers": ["a b c d"]}])
    s = BENCHMARKS["longbench_rouge"].load(str(p))[0]
    assert BENCHMARKS["longbench_rouge"].score("a c d", s) == pytest.approx(2 * 1 * 0.75 / 1.75)


def test_gsm8k_extracts_the_final_number(tmp_path: Path) -> None:
    rec = {"question": "Tom has 3 apples and buys 1,197 more.", "answer": "3+1197=1200\n#### 1,200"}
    s = BENCHMARKS["gsm8k"].load(str(write(tmp_path, "gsm.jsonl", [rec])))[0]
    assert s.answer == "1200"
    assert "Tom has 3 apples" in s.context
    assert BENCHMARKS["gsm8k"].score("So he has $1,200 in total.", s) == 1.0
    assert BENCHMARKS["gsm8k"].score("He has 1200 apples. #### 1200", s) == 1.0
    assert BENCHMARKS["gsm8k"].score("3 + 1197 = 1201", s) == 0.0
    assert BENCHMARKS["gsm8k"].score("no idea", s) == 0.0


@pytest.mark.parametrize("answer", [2, "C", "c"], ids=["index", "letter", "lower-letter"])
def test_mmlu_answer_as_letter_or_index(tmp_path: Path, answer: object) -> None:
    rec = {"question": "2+2?", "choices": ["3", "5", "4", "6"], "answer": answer}
    s = BENCHMARKS["mmlu"].load(str(write(tmp_path, "mmlu.jsonl", [rec])))[0]
    assert s.answer == "C"
    assert "C. 4" in s.context
    assert "D. 6" in s.context
    for pred, want in [
        (" C", 1.0),
        ("(C) 4", 1.0),
        ("Answer: C.", 1.0),
        ("B", 0.0),
        ("I think", 0.0),
    ]:
        assert BENCHMARKS["mmlu"].score(pred, s) == want, pred


BAD = [
    (
        "longbench",
        [{"context": "c", "input": "q", "answers": ["a"]}, {"context": "c", "input": "q"}],
        r"bad\.jsonl:2: missing field 'answers' \(required: context, input, answers\)",
    ),
    (
        "longbench",
        [{"context": "c", "input": "q", "answers": []}],
        r"bad\.jsonl:1: field 'answers'",
    ),
    (
        "gsm8k",
        [{"question": "q", "answer": "42"}],
        r"bad\.jsonl:1: field 'answer' must end with '#### <number>'",
    ),
    ("gsm8k", ["{not json"], r"bad\.jsonl:1: not valid JSON"),
    (
        "mmlu",
        [{"question": "q", "choices": ["a", "b"], "answer": "C"}],
        r"bad\.jsonl:1: field 'answer' must be one of A, B",
    ),
    ("mmlu", [{"question": "q", "choices": "ab", "answer": 0}], r"bad\.jsonl:1: field 'choices'"),
    ("mmlu", ["[1, 2]"], r"bad\.jsonl:1: expected a JSON object"),
    ("mmlu", [""], r"bad\.jsonl: no records"),
]


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    BAD,
    ids=[
        "lb-missing",
        "lb-empty-answers",
        "gsm-no-hashes",
        "gsm-bad-json",
        "mmlu-bad-letter",
        "mmlu-bad-choices",
        "mmlu-not-object",
        "empty-file",
    ],
)
def test_bad_files_name_file_line_and_field(
    tmp_path: Path, name: str, lines: list[object], message: str
) -> None:
    with pytest.raises(BenchmarkFileError, match=message):
        BENCHMARKS[name].load(str(write(tmp_path, "bad.jsonl", lines)))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFileError, match="nope.jsonl: no such file"):
        BENCHMARKS["gsm8k"].load(str(tmp_path / "nope.jsonl"))


def test_unknown_longbench_metric_lists_allowed() -> None:
    from calibration.benchmarks import LongBench

    with pytest.raises(ValueError, match="allowed: f1, rouge_l"):
        LongBench(metric="bleu")

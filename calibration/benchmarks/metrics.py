"""Answer metrics of the public benchmarks: token F1 and Rouge-L (LongBench), final-number
extraction (GSM8k) and choice-letter extraction (MMLU). Pure functions on strings.
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def normalize_answer(text: str) -> str:
    """SQuAD/LongBench normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall after normalize_answer."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """Rouge-L F1 over lower-cased whitespace tokens (longest common subsequence)."""
    pred, ref = prediction.lower().split(), reference.lower().split()
    lcs = _lcs(pred, ref)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(pred), lcs / len(ref)
    return 2 * p * r / (p + r)


def final_number(text: str) -> str | None:
    """The number after '####' if present, else the last number in text; commas and '$' dropped.

    '... so she has $1,200. #### 1200' -> '1200'; '2.50' -> '2.5'; no number -> None.
    """
    tail = text.split("####")[-1] if "####" in text else text
    found = _NUMBER.findall(tail)
    if not found:
        return None
    num = str(found[-1] if "####" not in text else found[0])
    num = num.replace(",", "")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return num


def choice_letter(text: str, n_choices: int = 4) -> str | None:
    """First standalone choice letter ('B', '(B)', 'B.', 'Answer: B'), or None."""
    letters = "ABCDEFGHIJ"[:n_choices]
    m = re.search(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z])", text.strip())
    return str(m.group(1)) if m else None

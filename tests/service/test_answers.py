"""service.answers: which row an answer recommends."""

from types import SimpleNamespace

import numpy as np

from service.answers import best_row


def test_an_ulp_below_the_best_is_a_tie_and_the_smaller_row_wins():
    """Seen on Qwen at 2,048 tokens: a lossless quantized cache predicted 0.9062499999999999
    against the 16-bit 0.90625 lost the recommendation to a 16-bit cache 17 MB larger."""
    ev = SimpleNamespace(memory=SimpleNamespace(peak=np.array([1_029_043_971, 1_011_591_920,
                                                               1_000_000_000])))
    score = np.array([0.90625, 0.9062499999999999, 0.9])
    ok = np.array([True, True, True])
    assert best_row(ev, ok, score) == 1  # type: ignore[arg-type]
    assert best_row(ev, np.array([True, False, True]), score) == 0  # a real gap still counts

"""Held-out scores: MAE against the trivial predictor, rank, and interval coverage."""

import math

from bench.held_out import held_out_scores


def test_scores_of_a_perfect_and_a_constant_prediction():
    y = [0.9, 0.5, 0.1]
    s = held_out_scores(y, y, [0.8, 0.4, 0.2], [1.0, 0.6, 0.3], trivial=[1.0, 1.0, 1.0])
    assert s.mae == 0 and s.ratio == 0 and math.isclose(s.trivial_mae, 0.5)
    assert s.spearman == 1.0 and (s.inside, s.n) == (2, 3)  # 0.1 lies below [0.2, 0.3]
    flat = held_out_scores(y, [1.0] * 3, [0.0] * 3, [1.0] * 3, trivial=[1.0] * 3)
    assert math.isnan(flat.spearman) and flat.ratio == 1.0 and flat.coverage == 1.0

"""bench.real_tasks: the outlier summary over layers."""

from __future__ import annotations


def test_outlier_summary_is_min_median_max_over_layers_of_the_task_mean():
    from bench.real_tasks import outlier_summary  # imports torch

    per_task = [(2.0, 10.0, 4.0), (4.0, 30.0, 4.0)]  # two tasks, three layers
    assert outlier_summary(per_task) == (3.0, 4.0, 20.0)

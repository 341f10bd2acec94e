"""Property tests of the frontier maths: Pareto set exactness and hypervolume monotonicity.

Brute-force O(n²) dominance is the oracle; hypothesis draws small point clouds with ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.frontier import hypervolume, pareto_indices, pareto_mask

# small integer grids make ties (equal memory, equal accuracy, duplicates) frequent
values = st.integers(min_value=0, max_value=12)
clouds = st.lists(st.tuples(values, values), min_size=0, max_size=40)


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


def split(points: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


@settings(max_examples=300, deadline=None)
@given(clouds)
def test_kept_points_are_non_dominated_and_excluded_points_dominated(points):
    mem, acc = split(points)
    mask = pareto_mask(mem, acc)
    for i, p in enumerate(points):
        dominated = any(dominates(q, p) for q in points)
        assert mask[i] == (not dominated), (i, p)


@settings(max_examples=200, deadline=None)
@given(clouds)
def test_indices_sorted_by_memory_with_accuracy_increasing(points):
    mem, acc = split(points)
    idx = pareto_indices(mem, acc)
    assert set(idx.tolist()) == set(np.flatnonzero(pareto_mask(mem, acc)).tolist())
    assert np.all(np.diff(mem[idx]) >= 0)
    assert np.all(np.diff(acc[idx]) >= 0)


ref = (13.0, -1.0)


@settings(max_examples=200, deadline=None)
@given(clouds, st.tuples(values, values))
def test_hypervolume_monotone_when_adding_a_point(points, extra):
    mem, acc = split(points)
    before = hypervolume(mem, acc, ref)
    mem2, acc2 = split([*points, extra])
    assert hypervolume(mem2, acc2, ref) >= before - 1e-12


@settings(max_examples=200, deadline=None)
@given(clouds)
def test_hypervolume_equals_frontier_hypervolume_and_union_of_rectangles(points):
    mem, acc = split(points)
    idx = pareto_indices(mem, acc)
    hv = hypervolume(mem, acc, ref)
    assert hv == pytest.approx(hypervolume(mem[idx], acc[idx], ref))
    # oracle: count unit cells of the integer grid covered by some point's box
    cells = 0
    for x in range(13):
        for y in range(-1, 13):
            if any(px <= x and py >= y + 1 for px, py in points):
                cells += 1
    assert hv == pytest.approx(float(cells))


def test_single_point_and_empty():
    assert pareto_indices([], []).size == 0
    assert hypervolume([], [], (1.0, 0.0)) == 0.0
    assert hypervolume([2.0], [0.5], (4.0, 0.0)) == pytest.approx(1.0)
    assert hypervolume([5.0], [0.5], (4.0, 0.0)) == 0.0  # worse than the reference memory


def test_duplicates_of_a_pareto_point_are_all_kept():
    assert pareto_indices([1, 1, 2], [0.5, 0.5, 0.4]).tolist() == [0, 1]


@pytest.mark.parametrize(("bad", "why"), [(([1.0, 2.0], [0.1]), "differ in length"),
                                          (([np.nan], [0.1]), "NaN")], ids=["length", "nan"])
def test_bad_input_is_refused(bad, why):
    with pytest.raises(ValueError, match=why):
        pareto_mask(*bad)


def test_large_grid_matches_bruteforce_on_a_sample():
    rng = np.random.default_rng(0)
    mem = rng.integers(0, 1000, 15_584).astype(float)
    acc = np.round(rng.random(15_584), 2)
    idx = pareto_indices(mem, acc)
    best = np.maximum.accumulate(acc[np.lexsort((-acc, mem))])
    assert acc[idx].max() == best[-1]
    for i in rng.choice(15_584, 200, replace=False):
        dominated = np.any((mem <= mem[i]) & (acc >= acc[i]) & ((mem < mem[i]) | (acc > acc[i])))
        assert (i in set(idx.tolist())) == (not dominated)

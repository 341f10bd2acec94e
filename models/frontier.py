"""Frontier maths over (peak memory ↓, predicted accuracy ↑): Pareto set and 2-D hypervolume.

Pure and vectorised (numpy, O(n log n)); no I/O, no knowledge of configurations or models.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def _columns(memory: ArrayLike, accuracy: ArrayLike) -> tuple[F64, F64]:
    mem = np.asarray(memory, dtype=np.float64).ravel()
    acc = np.asarray(accuracy, dtype=np.float64).ravel()
    if mem.shape != acc.shape:
        raise ValueError(f"memory and accuracy differ in length: {mem.size} vs {acc.size}")
    if np.isnan(mem).any() or np.isnan(acc).any():
        raise ValueError("memory and accuracy must not contain NaN")
    return mem, acc


def pareto_mask(memory: ArrayLike, accuracy: ArrayLike) -> NDArray[np.bool_]:
    """True for every point no other point dominates (less or equal memory, greater or equal
    accuracy, and strictly better in one). Exact duplicates of a Pareto point are all kept.

    memory, accuracy: shape (n,). Returns a boolean mask of shape (n,).
    """
    mem, acc = _columns(memory, accuracy)
    n = mem.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(mem)  # memory ascending; ties in any order
    m, a = mem[order], acc[order]
    start = np.ones(n, dtype=bool)
    start[1:] = m[1:] != m[:-1]
    group = np.cumsum(start) - 1  # index of each point's equal-memory group
    group_best = np.maximum.reduceat(a, np.flatnonzero(start))
    before = np.full(group_best.size, -np.inf)  # best accuracy at strictly smaller memory
    before[1:] = np.maximum.accumulate(group_best)[:-1]
    keep_sorted = (a == group_best[group]) & (a > before[group])
    mask = np.empty(n, dtype=bool)
    mask[order] = keep_sorted
    return mask


def pareto_indices(memory: ArrayLike, accuracy: ArrayLike) -> I64:
    """Indices of the Pareto-optimal points, sorted by memory ascending (accuracy ascending)."""
    mem, acc = _columns(memory, accuracy)
    idx = np.flatnonzero(pareto_mask(mem, acc))
    # along a frontier accuracy rises with memory, and equal memory means equal accuracy
    return idx[np.argsort(mem[idx], kind="stable")].astype(np.int64)


def hypervolume(
    memory: ArrayLike, accuracy: ArrayLike, reference: tuple[float, float]
) -> float:
    """Area dominated by the points and bounded by `reference` = (worst memory, worst accuracy).

    Points that do not improve on the reference in both objectives add nothing. The input need
    not be a frontier: dominated points add nothing either.
    """
    mem, acc = _columns(memory, accuracy)
    ref_mem, ref_acc = float(reference[0]), float(reference[1])
    useful = (mem < ref_mem) & (acc > ref_acc)
    mem, acc = mem[useful], acc[useful]
    if mem.size == 0:
        return 0.0
    order = np.argsort(mem)
    m = mem[order]
    best = np.maximum.accumulate(acc[order])  # best accuracy reachable with memory ≤ m_i
    widths = np.diff(np.append(m, ref_mem))
    return float(np.sum(widths * (best - ref_acc)))

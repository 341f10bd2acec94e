"""Benchmark of models.frontier against moocore (and paretoset when installed) on real grids.

Checks that all agree, then prints median / p99 µs per call; `python -m bench.frontier`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from models.frontier import hypervolume, pareto_mask


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    arr = np.asarray(times) * 1e6
    return float(np.median(arr)), float(np.percentile(arr, 99))


def cloud(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A frontier-like cloud: accuracy rises with memory, with noise and many ties."""
    rng = np.random.default_rng(seed)
    mem = rng.integers(2**30, 20 * 2**30, n).astype(np.float64)
    acc = np.round(1 - np.exp(-mem / 2**32) + rng.normal(0, 0.05, n), 3)
    return mem, acc


def main(repeat: int = 200) -> None:
    rows: list[tuple[str, int, float, float]] = []
    for n in (1_176, 15_584, 100_000):
        mem, acc = cloud(n)
        pts = np.column_stack([mem, acc])
        ref = (float(mem.max()) * 1.01, float(acc.min()) - 0.01)
        ours = pareto_mask(mem, acc)
        rows.append(("ours pareto", n, *timed(partial(pareto_mask, mem, acc), repeat)))
        rows.append(("ours hypervolume", n, *timed(partial(hypervolume, mem, acc, ref), repeat)))
        try:
            import moocore
        except ImportError:
            print("moocore not installed: pip install moocore to compare")
        else:
            theirs = moocore.is_nondominated(pts, maximise=[False, True], keep_weakly=True)
            assert np.array_equal(ours, theirs), "moocore disagrees on the Pareto set"
            hv = moocore.hypervolume(pts, ref=ref, maximise=[False, True])
            assert np.isclose(hv, hypervolume(mem, acc, ref)), "moocore disagrees on hypervolume"
            rows.append(("moocore is_nondominated", n, *timed(partial(
                moocore.is_nondominated, pts, maximise=[False, True], keep_weakly=True), repeat)))
            rows.append(("moocore hypervolume", n, *timed(partial(
                moocore.hypervolume, pts, ref=ref, maximise=[False, True]), repeat)))
        try:
            import paretoset
        except ImportError:
            continue
        theirs = paretoset.paretoset(pts, sense=["min", "max"], distinct=False)
        assert np.array_equal(ours, theirs), "paretoset disagrees on the Pareto set"
        rows.append(("paretoset", n, *timed(partial(
            paretoset.paretoset, pts, sense=["min", "max"], distinct=False), max(5, repeat // 20))))
    print(f"{'implementation':28} {'n':>8} {'p50 µs':>10} {'p99 µs':>10}")
    for name, n, p50, p99 in rows:
        print(f"{name:28} {n:>8} {p50:>10.1f} {p99:>10.1f}")


if __name__ == "__main__":
    main()

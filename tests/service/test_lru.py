"""The service's one LRU: eviction order, size 0 keeps nothing, setdefault makes once."""

from __future__ import annotations

import threading

from service.lru import LRU


def test_least_recently_used_goes_first():
    lru: LRU[int] = LRU()
    for k in "abc":
        lru.put(k, ord(k), 3)
    assert lru.get("a") == ord("a")  # a is now the most recent
    lru.put("d", 4, 3)
    assert lru.get("b") is None
    assert lru.get("a") is not None
    assert len(lru) == 3


def test_size_zero_keeps_nothing_and_make_runs_each_time():
    lru: LRU[int] = LRU()
    made = []
    for _ in range(3):
        assert lru.get_or_make("k", 0, lambda: made.append(1) or 7) == 7
    assert len(made) == 3
    assert len(lru) == 0


def test_setdefault_gives_every_thread_the_same_object():
    lru: LRU[object] = LRU()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(lru.setdefault("k", 4, object)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(g) for g in got}) == 1

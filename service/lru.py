"""The service's one LRU cache: thread-safe (routes run in the threadpool), sized per call.

Used for per-model ledgers and predictions (`ModelEntry.cache`) and for serialised answers
(`Registry.answers`); a reload makes new entries, hence fresh caches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class LRU(Generic[T]):
    """At most `size` values (given per call, 0 = keep nothing), least recently used evicted."""

    def __init__(self) -> None:
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: T, size: int) -> None:
        if size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, size: int, make: Callable[[], T]) -> T:
        """The cached value, or `make()` (outside the lock: two threads may both compute it,
        never corrupt the cache)."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value, size)
        return value

    def setdefault(self, key: Hashable, size: int, make: Callable[[], T]) -> T:
        """The cached value, or `make()` made under the lock (for cheap `make`s only: every
        thread asking gets the same object)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = make()
            if size > 0:
                self._items[key] = value
                while len(self._items) > size:
                    self._items.popitem(last=False)
            return value

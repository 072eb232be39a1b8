"""Query vectors remembered per text: a vector depends only on the text and the model, so the same question
asked again (a busy morning's "how do I reset my password?") costs no encoder time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

QUERY_CACHE_SIZE = 4096  # vectors kept per encoder (1.5–2 KB each), least recently used dropped first


class QueryCache:
    def __init__(self, dimension: int, size: int = QUERY_CACHE_SIZE) -> None:
        self.dimension, self.size = dimension, size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def encode(self, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The vectors of `texts` (a new array the caller may change); `encode` runs on the unseen ones only."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in known:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(encode(missing), dtype="float32")
            with self._lock:
                for t, v in zip(missing, fresh, strict=True):
                    v = v.copy()  # not a view that would keep the whole batch alive
                    v.setflags(write=False)
                    known[t] = self._vectors[t] = v
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        return np.stack([known[t] for t in texts])

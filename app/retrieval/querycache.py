"""Query vectors remembered per text: a vector depends only on the text and the model, so the same question
asked again (a busy morning's "how do I reset my password?") costs no encoder time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress

import numpy as np

QUERY_CACHE_SIZE = 4096  # vectors kept per encoder (1.5–2 KB each), least recently used dropped first


class QueryCache:
    def __init__(self, dimension: int, size: int = QUERY_CACHE_SIZE) -> None:
        self.dimension, self.size = dimension, size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._started: dict[str, tuple[Future[np.ndarray], int]] = {}  # texts `start` is encoding: (batch, row)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def start(self, texts: list[str], submit: Callable[[list[str]], Future[np.ndarray]]) -> None:
        """Starts computing the unseen ones among `texts` and returns at once (`submit` queues them on the encoder
        and returns the future of their vectors); an `encode` of them meanwhile waits for that result."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors and t not in self._started))
            if not missing:
                return
            try:
                batch = submit(missing)
            except Exception:  # noqa: BLE001 - e.g. the encoder shutting down: `encode` meets it, as before
                return
            for row, t in enumerate(missing):
                self._started[t] = (batch, row)
        batch.add_done_callback(lambda done: self._finish(missing, done))

    def _finish(self, texts: list[str], batch: Future[np.ndarray]) -> None:
        with self._lock:
            for t in texts:
                if t in self._started and self._started[t][0] is batch:
                    del self._started[t]
            if batch.exception() is None:  # else `encode` encodes them itself
                self._keep(texts, np.asarray(batch.result(), dtype="float32"))

    def _keep(self, texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Stores the vectors of `texts` (the lock held)."""
        kept = {}
        for t, v in zip(texts, vectors, strict=True):
            v = v.copy()  # not a view that would keep the whole batch alive
            v.setflags(write=False)
            kept[t] = self._vectors[t] = v
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
        return kept

    def encode(self, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The vectors of `texts` (a new array the caller may change); `encode` runs on the unseen ones only."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in known:
                self._vectors.move_to_end(t)
            started = {t: self._started[t] for t in texts if t not in known and t in self._started}
        for t, (batch, row) in started.items():  # started by `start`: that batch's row, not a second encode
            with suppress(Exception):  # a failed call: encoded below, where the error (if it lasts) is raised
                known[t] = np.asarray(batch.result()[row], dtype="float32")
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(encode(missing), dtype="float32")
            with self._lock:
                known |= self._keep(missing, fresh)
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        return np.stack([known[t] for t in texts])

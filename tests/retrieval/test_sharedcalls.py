"""Questions waiting together for an encoder (app/retrieval/sharedcalls.py), without a model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.retrieval.sharedcalls import SharedCalls


def test_each_request_gets_its_own_rows():
    with ThreadPoolExecutor(1) as worker:
        shared = SharedCalls(worker, lambda texts, _: np.array([[float(len(t))] for t in texts]))
        assert shared.submit(["a", "bbb"], None).result(5).tolist() == [[1], [3]]
        assert shared.encode(["cc"], "query").tolist() == [[2]]


def test_a_shut_down_worker_fails_every_request_instead_of_leaving_one_waiting():
    worker = ThreadPoolExecutor(1)
    worker.shutdown()
    shared = SharedCalls(worker, lambda texts, _: np.zeros((len(texts), 2)))
    with pytest.raises(RuntimeError):
        shared.encode(["a"], None)
    with pytest.raises(RuntimeError):  # not queued behind the first forever
        shared.submit(["b"], None).result(5)
    assert shared.waiting() == 0

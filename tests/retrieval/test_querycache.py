import numpy as np

from app.retrieval.querycache import QueryCache


def test_only_unseen_texts_are_encoded_and_the_least_recent_is_dropped_first():
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype="float32")

    cache = QueryCache(2, size=2)
    assert cache.encode(["a", "bb", "a"], encode).tolist() == [[1, 1], [2, 1], [1, 1]]
    assert calls == [["a", "bb"]]
    cache.encode(["a"], encode)  # "a" is now the most recent, so "bb" goes first
    cache.encode(["ccc"], encode)
    cache.encode(["a", "bb"], encode)
    assert calls == [["a", "bb"], ["ccc"], ["bb"]]
    assert cache.encode([], encode).shape == (0, 2)
    cache.clear()  # the evaluation times each question as new
    cache.encode(["a"], encode)
    assert calls[-1] == ["a"]

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


def test_a_started_text_is_encoded_once_and_an_encode_meanwhile_waits_for_that_call():
    from concurrent.futures import Future

    submitted: list[list[str]] = []
    batch: Future[np.ndarray] = Future()

    def submit(texts: list[str]) -> Future[np.ndarray]:
        submitted.append(list(texts))
        return batch

    def encode(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"encoded again: {texts}")

    cache = QueryCache(2)
    cache.start(["a", "bb", "a"], submit)
    cache.start(["bb"], submit)  # already on its way: not submitted twice
    assert submitted == [["a", "bb"]]
    batch.set_result(np.array([[1.0, 1.0], [2.0, 1.0]], dtype="float32"))
    assert cache.encode(["bb", "a"], encode).tolist() == [[2, 1], [1, 1]]
    cache.start(["a"], submit)  # kept: nothing to start
    assert submitted == [["a", "bb"]]


def test_an_encode_waiting_for_a_started_call_gets_its_rows_and_a_failed_start_is_encoded_again():
    import threading
    from concurrent.futures import Future

    batches: list[Future[np.ndarray]] = []

    def submit(texts: list[str]) -> Future[np.ndarray]:
        batches.append(Future())
        return batches[-1]

    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[float(len(t)), 0.0] for t in texts], dtype="float32")

    cache = QueryCache(2)
    cache.start(["a", "bb"], submit)
    out: list[np.ndarray] = []
    waiting = threading.Thread(target=lambda: out.append(cache.encode(["bb", "ccc"], encode)))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and out == []  # it waits for the started call
    batches[0].set_result(np.array([[7.0, 7.0], [8.0, 8.0]], dtype="float32"))
    waiting.join(5)
    assert out[0].tolist() == [[8, 8], [3, 0]] and calls == [["ccc"]]  # "bb" from the started call

    cache.start(["dddd"], submit)
    batches[1].set_exception(RuntimeError("encoder failed"))
    assert cache.encode(["dddd"], encode).tolist() == [[4, 0]] and calls[-1] == ["dddd"]


def test_a_start_the_encoder_refuses_leaves_the_encode_to_the_caller():
    def refuse(texts: list[str]):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot schedule new futures after shutdown")

    cache = QueryCache(2)
    cache.start(["a"], refuse)  # says nothing: the caller's encode runs as it would have
    assert cache.encode(["a"], lambda texts: np.ones((len(texts), 2), dtype="float32")).tolist() == [[1, 1]]

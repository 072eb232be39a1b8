"""The intent classifier's own arithmetic (app/chat/intent_scores.py) gives scikit-learn's probabilities."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from app.chat.intent_scores import LinearScores
from app.chat.intents import IntentClassifier, _join, lexical_vectorizer

TEXTS = ["How many days of annual leave do I get?", "¿Cuántos días de vacaciones tengo?", "hola", "thanks!",
         "Quero falar com um atendente", "my manager keeps shouting at me", "what is my colleague's salary",
         "who won the football yesterday", "Posso levar férias em dezembro?", "reset my VPN password",
         "necesito hablar con alguien de RRHH", "tchau", "I can't cope anymore", "Onde vejo meu contracheque?"]
NEW = ["Can I carry over unused leave?", "¿Dónde está mi nómina?", "olá", "🙂", "", "12345", "zzqx wvvk",
       "FÉRIAS férias ferias", "a", "VPN VPN VPN vpn reset reset"]


def _fitted(classes: int, vectorizer: TfidfVectorizer | None = None, width: int = 16):
    rng = np.random.default_rng(3)
    labels = [f"c{i % classes}" for i in range(len(TEXTS))]
    dense = rng.normal(size=(len(TEXTS), width)).astype("float32")
    vectorizer = vectorizer.fit(TEXTS) if vectorizer is not None else None
    model = LogisticRegression(C=16.0, max_iter=5000).fit(_join(dense, vectorizer, TEXTS), labels)
    return model, vectorizer, rng.normal(size=(len(NEW), width)).astype("float32")


def _library(model, vectorizer):  # type: ignore[no-untyped-def]
    return lambda dense, texts: model.predict_proba(_join(dense, vectorizer, texts))


@pytest.mark.parametrize(("lexical", "tolerance"), [(True, 1e-12), (False, 1e-6)])  # scikit-learn: float64 / float32
def test_the_scores_equal_scikit_learns_probabilities_for_new_texts(lexical, tolerance):
    model, vectorizer, dense = _fitted(4, lexical_vectorizer() if lexical else None)
    scores = LinearScores.of(model, vectorizer, _library(model, vectorizer))
    assert scores is not None
    expected = model.predict_proba(_join(dense, vectorizer, NEW))
    got = scores.probabilities(dense, NEW)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)
    assert got.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()


def test_a_model_it_does_not_reproduce_keeps_scikit_learns_path():
    binary, vectorizer, dense = _fitted(2, lexical_vectorizer())  # a binary model scores one column
    assert LinearScores.of(binary, vectorizer, _library(binary, vectorizer)) is None
    plain_tf, vectorizer2, _ = _fitted(4, TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)))  # no sublinear tf
    assert LinearScores.of(plain_tf, vectorizer2, _library(plain_tf, vectorizer2)) is None
    wrong, vectorizer3, _ = _fitted(4, lexical_vectorizer())
    assert LinearScores.of(wrong, vectorizer3, lambda d, t: np.full((len(t), 4), 0.25)) is None  # the check fails
    classifier = IntentClassifier(None, binary, vectorizer)
    assert classifier.scores is None
    expected = binary.predict_proba(_join(dense, vectorizer, NEW))
    np.testing.assert_allclose(classifier.probabilities(NEW, dense), expected)

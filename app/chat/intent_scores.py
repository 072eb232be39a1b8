"""The intent classifier's probabilities for one message, computed from the fitted weights.

The classifier is a multinomial logistic regression over [encoder features ⊕ TF-IDF character n-grams]. Through
scikit-learn, one message costs ~1 ms of Python holding the GIL (the vectorizer's transform into a sparse matrix,
`hstack`, input checks), more than the arithmetic: a few dozen n-gram weights and a 7 × 896 product. `LinearScores`
does that arithmetic directly, in float64 as scikit-learn does with the sparse n-grams (with encoder features
alone scikit-learn stays in float32: equal within 1e-6). It is checked against `predict_proba` when it is made, and
any setting it does not reproduce keeps scikit-learn's path (`LinearScores.of` returns None).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

PROBE = ["Can I carry over unused annual leave?", "¿Quién aprueba mis horas extra?", "ok", "🙂", ""]


class LinearScores:
    def __init__(self, model: Any, vectorizer: Any) -> None:
        coef = np.asarray(model.coef_, dtype="float64")
        vocabulary: dict[str, int] = vectorizer.vocabulary_ if vectorizer is not None else {}
        self.dense_width = coef.shape[1] - len(vocabulary)
        self.dense_weights = np.ascontiguousarray(coef[:, : self.dense_width].T)  # features x classes
        self.ngram_weights = np.ascontiguousarray(coef[:, self.dense_width :].T)  # n-grams x classes
        self.intercept = np.asarray(model.intercept_, dtype="float64")
        self.vocabulary = vocabulary
        self.idf = np.asarray(vectorizer.idf_, dtype="float64") if vectorizer is not None else np.zeros(0)
        self.analyze: Callable[[str], list[str]] | None = \
            vectorizer.build_analyzer() if vectorizer is not None else None

    @classmethod
    def of(cls, model: Any, vectorizer: Any,
           check: Callable[[np.ndarray, list[str]], np.ndarray]) -> LinearScores | None:
        """Scores for this fitted model when they reproduce `check(dense, texts)` (scikit-learn's probabilities) on
        a few probe messages, else None. Only a multinomial model (3 or more classes; a one-vs-rest model fails the
        check) over sublinear, l2-normalised TF-IDF with idf (or no n-grams at all) is reproduced."""
        if len(model.classes_) < 3:
            return None  # a binary model has one row of weights and a logistic, not a softmax
        if vectorizer is not None and not (vectorizer.sublinear_tf and vectorizer.use_idf
                                           and vectorizer.norm == "l2" and not vectorizer.binary):
            return None
        scores = cls(model, vectorizer)
        width = scores.dense_width  # unit-length probe features, as the encoders give
        dense = (np.random.default_rng(0).normal(size=(len(PROBE), width)) / math.sqrt(width)).astype("float32")
        if not np.allclose(scores.probabilities(dense, PROBE), check(dense, PROBE), rtol=0, atol=1e-6):
            return None
        return scores

    def probabilities(self, dense: np.ndarray, texts: list[str]) -> np.ndarray:
        """Class probabilities of each text (rows), in the model's class order."""
        logits = np.asarray(dense, dtype="float64") @ self.dense_weights + self.intercept
        for row, text in enumerate(texts):
            logits[row] += self._ngrams(text)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def _ngrams(self, text: str) -> np.ndarray | float:
        """The n-gram part of one text's logits: its TF-IDF vector (1 + log tf, times idf, l2-normalised) times
        the n-gram weights."""
        if self.analyze is None:
            return 0.0
        counts = Counter(j for g in self.analyze(text) if (j := self.vocabulary.get(g)) is not None)
        if not counts:
            return 0.0
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype="float64", count=len(counts))
        weights = tf * self.idf[columns]
        weights /= math.sqrt(float(weights @ weights))
        return weights @ self.ngram_weights[columns]

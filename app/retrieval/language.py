"""Language identification restricted to the languages Ayuda speaks (en, es, pt)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from app.retrieval.text import fold

LANGUAGES = ("en", "es", "pt")

# Strong cues that short messages carry and statistical models miss.
_CUES = {
    "es": re.compile(r"[ñ¿¡]|\b(cómo|qué|dónde|cuándo|cuál|cuánto|cuántos|puedo|tengo|hola|gracias|necesito|quiero|"
                     r"mi|mis|nómina|nóminas|contraseña|vacaciones|día|portátil|también|está|y para|el|los|las)\b", re.I),
    "pt": re.compile(r"[ãõç]|\b(como|onde|quando|qual|quanto|posso|tenho|olá|oi|obrigad[oa]|preciso|quero|meu|minha|"
                     r"meus|minhas|senha|férias|dia|você|não|são|e para|contracheque|holerite|o|os|um|uma)\b", re.I),
    "en": re.compile(r"\b(how|what|where|when|which|can|do|does|i|my|the|is|are|hello|hi|thanks|thank|need|want|"
                     r"password|payslip|holiday)\b", re.I),
}
CUE_WEIGHT = 2.0  # log-odds each cue adds when the documents' vocabulary votes too
MIN_LANGUAGE_WORDS = 500  # a language's documents must hold this many words for its vocabulary to vote
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [fold(w) for w in _WORDS.findall(text)]


class Vocabulary:
    """How often each (accent-folded) word occurs in the documents of each language: the company's own words
    ("nominas", "holerite", "notebook", "vale") tell a two-word message's language better than a general
    model trained on other text. A multinomial naive Bayes over it joins py3langid's scores."""

    def __init__(self, texts: Iterable[tuple[str, str]], smoothing: float = 0.5) -> None:
        self.counts: dict[str, Counter[str]] = {code: Counter() for code in LANGUAGES}
        for text, language in texts:
            if language in self.counts:
                self.counts[language].update(_words(text))
        self.known = set().union(*self.counts.values())
        self.smoothing = smoothing
        self._totals = {code: sum(c.values()) + smoothing * len(self.known) for code, c in self.counts.items()}

    def log_likelihood(self, text: str) -> dict[str, float]:
        """Per language, log P(words | language) over the words the documents use (unknown words say nothing).
        A language with (almost) no documents gets the best of the others: no text in it is no evidence against
        it (English-only documents must not make a Spanish question look English)."""
        words = [w for w in _words(text) if w in self.known]
        seen = {code: sum(math.log((self.counts[code][w] + self.smoothing) / self._totals[code]) for w in words)
                for code in LANGUAGES if sum(self.counts[code].values()) >= MIN_LANGUAGE_WORDS}
        neutral = max(seen.values(), default=0.0)
        return {code: seen.get(code, neutral) for code in LANGUAGES}


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect_language(text: str, vocabulary: Vocabulary | None = None) -> tuple[str, float]:
    """Return (language, probability). With the documents' vocabulary: py3langid's log-probabilities plus the
    vocabulary's log-likelihood plus the cues; without it, short texts lean on the cues alone."""
    if vocabulary is not None:
        model = dict(_identifier().rank(text))
        likelihood = vocabulary.log_likelihood(text)
        scores = {code: math.log(max(float(model.get(code, 0.0)), 1e-9)) + likelihood[code]
                  + CUE_WEIGHT * len(_CUES[code].findall(text)) for code in LANGUAGES}
        top = max(scores.values())
        total = sum(math.exp(v - top) for v in scores.values())
        best = max(scores, key=lambda code: scores[code])
        return best, 1.0 / total
    lang, prob = _identifier().classify(text)
    words = len(text.split())
    if words <= 6:
        votes = {code: len(rx.findall(text)) for code, rx in _CUES.items()}
        best = max(votes, key=lambda code: votes[code])
        ranked = sorted(votes.values(), reverse=True)
        if ranked[0] > ranked[1] and (prob < 0.9 or votes.get(lang, 0) == 0):
            return best, max(0.5, min(prob, 0.9))
    return str(lang), float(prob)

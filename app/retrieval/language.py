"""Language identification restricted to the languages Ayuda speaks (en, es, pt)."""

from __future__ import annotations

import re
from functools import lru_cache

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


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect_language(text: str) -> tuple[str, float]:
    """Return (language, probability). Short texts lean on lexical cues."""
    lang, prob = _identifier().classify(text)
    words = len(text.split())
    if words <= 6:
        votes = {code: len(rx.findall(text)) for code, rx in _CUES.items()}
        best = max(votes, key=lambda code: votes[code])
        ranked = sorted(votes.values(), reverse=True)
        if ranked[0] > ranked[1] and (prob < 0.9 or votes.get(lang, 0) == 0):
            return best, max(0.5, min(prob, 0.9))
    return str(lang), float(prob)

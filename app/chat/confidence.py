"""Confidence that the top passages answer the question, and the gate that turns it into an outcome.

The score is a logistic function of four signals measured on the retrieved passages:
- the best e5 cosine of a top passage or one of its sentences (e5 scores live in a narrow band: ~0.73
  unrelated, ~0.87 relevant),
- standout: the top passage's fused score, in standard deviations above the index (app/retrieval/search.py);
  a question about something the documents don't cover matches nothing much better than everything else,
- lexical coverage: the IDF-weighted share of the question's words that the best passage contains,
- agreement: the dense and BM25 retrievers both rank the best passage near the top.
Weights are set so that the scale means what it says; `ayuda eval` reports the reliability diagram.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from app.retrieval.documents import Hit
from app.retrieval.text import passage_tokens, tokenize

ANSWERED = "answered"
OFFER_HUMAN = "answered_offer_human"
ESCALATED = "escalated"


@dataclass(frozen=True)
class Calibration:
    """z = intercept + dense·cosine + standout·fused + coverage·share + agreement·[both agree]; confidence = sigmoid(z).
    Fitted on the golden set's dev split with scripts/calibrate.py: the ranking by logistic regression on P(the top document
    answers), its scale (Platt) on P(the composed answer cites a gold document and has every required fact)."""

    intercept: float = -8.240
    dense: float = 8.616
    standout: float = 0.0431
    coverage: float = 0.621
    agreement: float = -0.006
    coverage_neutral: float = 0.5  # lexical evidence assumed when the passage is in another language


@dataclass
class Signals:
    dense: float
    coverage: float
    agreement: bool
    standout: float = 0.0

    def as_dict(self) -> dict[str, float | bool]:
        return {"dense": round(self.dense, 4), "standout": round(self.standout, 3),
                "coverage": round(self.coverage, 3), "agreement": self.agreement}


def signals(question: str, language: str, hits: list[Hit], idf: Callable[[str], float] | None = None) -> Signals:
    if not hits:
        return Signals(0.0, 0.0, False)
    top = hits[0]
    dense = max((h.sentence or h.dense or 0.0) for h in hits[:3])
    weight = idf or (lambda _: 1.0)

    def coverage_of(hit: Hit) -> float:
        passage = passage_tokens(hit.chunk.embed_text(), hit.chunk.language)
        q = set(tokenize(question, hit.chunk.language))
        total = sum(weight(tok) for tok in q)
        return sum(weight(tok) for tok in q & passage) / total if total else 0.0

    if top.chunk.language == language:
        coverage = coverage_of(top)
    else:  # other-language words can't match: use same-language runners-up as evidence, else stay neutral
        same = [coverage_of(h) for h in hits[:3] if h.chunk.language == language]
        coverage = min(max(same), Calibration.coverage_neutral) if same else Calibration.coverage_neutral
    agreement = top.dense_rank is not None and top.bm25_rank is not None and max(top.dense_rank, top.bm25_rank) < 3
    return Signals(dense, coverage, agreement, top.score)


def confidence(s: Signals, cal: Calibration = Calibration()) -> float:
    if s.dense <= 0:
        return 0.0
    z = (cal.intercept + cal.dense * s.dense + cal.standout * s.standout + cal.coverage * s.coverage
         + (cal.agreement if s.agreement else 0.0))
    return 1.0 / (1.0 + math.exp(-z))


def gate(score: float, answer_threshold: float, offer_threshold: float) -> str:
    if score >= answer_threshold:
        return ANSWERED
    if score >= offer_threshold:
        return OFFER_HUMAN
    return ESCALATED

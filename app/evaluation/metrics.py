"""Evaluation metrics as pure functions (no model, no index): retrieval, answers, escalation, calibration.

Gold documents come as *groups*: a gold document together with the documents that count as the same
answer (its translations, or near-duplicate copies in a benchmark). A group is found when any of its
members is retrieved; each group counts once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GoldGroups = Sequence[frozenset[str]]

SHOULD_NOT_ANSWER = frozenset({"escalate", "human", "sensitive", "crisis"})
NOT_ANSWERED = frozenset({"escalated", "clarify", "not_ready"})
ANSWERED = "answered"
ANSWER_OUTCOMES = frozenset({"answered", "answered_offer_human"})


# --- retrieval ------------------------------------------------------------------------------------------------

def _first_hits(ranked: Sequence[str], gold: GoldGroups, k: int) -> list[int]:
    """1-based ranks (within the top k) at which a not-yet-found gold group is first hit."""
    found: set[int] = set()
    ranks: list[int] = []
    for rank, doc in enumerate(ranked[:k], start=1):
        for g, group in enumerate(gold):
            if g not in found and doc in group:
                found.add(g)
                ranks.append(rank)
                break
    return ranks


def recall_at_k(ranked: Sequence[str], gold: GoldGroups, k: int) -> float:
    """Share of gold groups with a member among the first k ranked documents."""
    if not gold:
        raise ValueError("recall needs at least one gold document")
    return len(_first_hits(ranked, gold, k)) / len(gold)


def mrr_at_k(ranked: Sequence[str], gold: GoldGroups, k: int = 10) -> float:
    """Reciprocal rank of the first gold document within the first k (0 when none)."""
    ranks = _first_hits(ranked, gold, k)
    return 1.0 / ranks[0] if ranks else 0.0


def ndcg_at_k(ranked: Sequence[str], gold: GoldGroups, k: int = 10) -> float:
    """Binary-relevance nDCG: each gold group gains 1 at the rank where it is first found."""
    if not gold:
        raise ValueError("nDCG needs at least one gold document")
    dcg = sum(1.0 / math.log2(rank + 1) for rank in _first_hits(ranked, gold, k))
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def dedupe(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in first-seen order (a ranking of chunks → a ranking of documents)."""
    return list(dict.fromkeys(doc_ids))


# --- answers --------------------------------------------------------------------------------------------------

def in_any(doc: str, gold: GoldGroups) -> bool:
    return any(doc in group for group in gold)


def citation_precision(cited: Sequence[str], gold: GoldGroups) -> float | None:
    """Share of the distinct cited documents that are gold (None when nothing is cited)."""
    docs = dedupe(cited)
    if not docs:
        return None
    return sum(in_any(d, gold) for d in docs) / len(docs)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


def facts_found(answer: str, facts: Sequence[str]) -> list[bool]:
    """For each required fact: does it appear in the answer (case-insensitive, whitespace-normalised)?"""
    text = _norm(answer)
    return [_norm(f).strip() in text for f in facts]


def fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    """Share of required facts present in the answer (None when the question lists no facts)."""
    if not facts:
        return None
    found = facts_found(answer, facts)
    return sum(found) / len(found)


def language_match(question_language: str, answer_language: str, cited: Sequence[tuple[str, str, str]],
                   versions: dict[str, set[str]]) -> bool:
    """The answer is in the question's language and, for every cited document (doc_id, language,
    translation_key) that has a version in the question's language, that version was cited.
    `versions` maps a translation_key to the languages it exists in."""
    if answer_language != question_language:
        return False
    for _doc, lang, key in cited:
        if lang != question_language and key and question_language in versions.get(key, set()):
            return False
    return True


# --- escalation -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def prf(expected_positive: Sequence[bool], predicted_positive: Sequence[bool]) -> PRF:
    """Precision, recall and F1 of the positive class; 0 where undefined (no predicted or no actual positives)."""
    pairs = list(zip(expected_positive, predicted_positive, strict=True))
    tp = sum(e and p for e, p in pairs)
    fp = sum((not e) and p for e, p in pairs)
    fn = sum(e and (not p) for e, p in pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, tp, fp, fn)


def should_not_answer(expect: str) -> bool:
    return expect in SHOULD_NOT_ANSWER


def did_not_answer(outcome: str) -> bool:
    return outcome in NOT_ANSWERED


def confident_wrong(outcome: str, expect: str, cited: Sequence[str], gold: GoldGroups) -> bool:
    """Answered without offering a person, although it should not have answered or cites no gold document."""
    if outcome != ANSWERED:
        return False
    return expect != "answer" or not any(in_any(d, gold) for d in cited)


@dataclass(frozen=True)
class GateCase:
    """One question as the threshold sweep sees it.

    `gated` is True when the confidence gate decided the outcome (answered / offer / low-confidence escalation);
    other outcomes (sensitive, human, clarify, no results, small talk) do not move with the threshold and keep
    `fixed_outcome`. `wrong` says whether the answer the bot gives (or would give) above the threshold is wrong.
    """

    confidence: float
    expect: str
    gated: bool
    wrong: bool
    fixed_outcome: str = ""


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    precision: float
    recall: float
    f1: float
    confident_wrong: float
    answer_rate: float


def at_threshold(cases: Sequence[GateCase], threshold: float) -> SweepPoint:
    """Escalation P/R/F1 and confident-wrong rate if the bot answered exactly when confidence >= threshold."""
    expected, predicted, wrong, answered = [], [], 0, 0
    for c in cases:
        expected.append(should_not_answer(c.expect))
        if c.gated:
            answers = c.confidence >= threshold
            predicted.append(not answers)
            answered += answers
            wrong += answers and c.wrong
        else:
            predicted.append(did_not_answer(c.fixed_outcome))
            answered += c.fixed_outcome in ANSWER_OUTCOMES
    scores = prf(expected, predicted)
    n = len(cases) or 1
    return SweepPoint(threshold, scores.precision, scores.recall, scores.f1, wrong / n, answered / n)


def sweep(cases: Sequence[GateCase], step: float = 0.01) -> list[SweepPoint]:
    steps = int(round(1 / step))
    return [at_threshold(cases, round(i * step, 4)) for i in range(steps + 1)]


def suggest_threshold(points: Sequence[SweepPoint], max_confident_wrong: float = 0.03) -> SweepPoint | None:
    """The threshold with the best F1 among those whose confident-wrong rate is within the limit
    (ties: the lowest threshold, which answers most). None when no threshold meets the limit."""
    ok = [p for p in points if p.confident_wrong <= max_confident_wrong + 1e-12]
    if not ok:
        return None
    return max(ok, key=lambda p: (round(p.f1, 9), -p.threshold))


def suggest_two_thresholds(points: Sequence[SweepPoint], max_confident_wrong: float = 0.03
                           ) -> tuple[float, float | None]:
    """(offer_human_threshold, answer_threshold) for the gate with a middle band: escalate below the first
    (the F1-best threshold), answer plainly at or above the second (the lowest that keeps confident-wrong
    within the limit, never below the first); in between, answer and offer a person."""
    offer = max(points, key=lambda p: (round(p.f1, 9), -p.threshold)).threshold
    ok = [p.threshold for p in points if p.confident_wrong <= max_confident_wrong + 1e-12]
    answer = max(offer, min(ok)) if ok else None
    return offer, answer


# --- calibration and latency ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[Bin]:
    """Equal-width confidence bins with the share of correct answers in each."""
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(c, ok) for c, ok in zip(confidences, correct, strict=True)
                   if low <= c < high or (b == bins - 1 and c == high)]
        n = len(members)
        out.append(Bin(low, high, n, sum(c for c, _ in members) / n if n else None,
                       sum(ok for _, ok in members) / n if n else None))
    return out


def expected_calibration_error(table: Sequence[Bin]) -> float | None:
    total = sum(b.count for b in table)
    if not total:
        return None
    return sum(b.count / total * abs((b.accuracy or 0.0) - (b.mean_confidence or 0.0)) for b in table if b.count)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None

"""Per-question records of an evaluation run and their summaries (overall and per language/department/kind).

A `Record` holds what the runner observed for one question under one configuration; `summarize` turns a list
of records into the flat metrics that the table, the reports and the baseline gate use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.evaluation import metrics as m
from app.evaluation.judgment import ESCALATION_SCOPE, judgment_metrics

RETRIEVAL_KS = (1, 5, 10)
BREAKDOWNS = ("split", "language", "department", "kind")


@dataclass
class Record:
    id: str
    language: str
    kind: str
    department: str
    expect: str
    question: str
    gold: list[frozenset[str]]  # gold groups
    ranked: list[str]  # retrieved documents, best first (deduplicated)
    latency_ms: float
    query: str = ""
    pipeline: bool = True  # False: retrieval only (no answer, no escalation metrics)
    outcome: str = ""
    confidence: float = 0.0
    reason: str | None = None
    answer: str = ""
    answer_language: str = ""
    cited: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    language_ok: bool | None = None  # None when nothing was answered
    gated: bool = False  # the confidence gate decided the outcome
    candidate_cited: list[str] = field(default_factory=list)  # what the bot cites (or would cite if it answered)
    candidate_answer: str = ""
    fact_ranks: dict[str, int | None] = field(default_factory=dict)  # missing fact → first retrieved chunk with it
    split: str = ""
    gold_sections: list[str] = field(default_factory=list)
    cited_sections: list[str] = field(default_factory=list)
    composer: dict[str, Any] = field(default_factory=dict)  # --composer llm: result, ms, extractive answer, faithful
    intent: str = ""  # what the intent classifier said

    # --- per-question metrics ---
    def retrieval(self) -> dict[str, float] | None:
        if not self.gold:
            return None
        out = {f"recall@{k}": m.recall_at_k(self.ranked, self.gold, k) for k in RETRIEVAL_KS}
        out["mrr@10"] = m.mrr_at_k(self.ranked, self.gold, 10)
        out["ndcg@10"] = m.ndcg_at_k(self.ranked, self.gold, 10)
        return out

    def citation_precision(self) -> float | None:
        return m.citation_precision(self.cited, self.gold) if self.gold else None

    def fact_recall(self) -> float | None:
        return m.fact_recall(self.answer, self.facts)

    def missing_facts(self) -> list[str]:
        return [f for f, ok in zip(self.facts, m.facts_found(self.answer, self.facts), strict=True) if not ok]

    @property
    def should_not_answer(self) -> bool:
        return m.should_not_answer(self.expect)

    @property
    def did_not_answer(self) -> bool:
        return m.did_not_answer(self.outcome)

    @property
    def answered(self) -> bool:
        return self.outcome in m.ANSWER_OUTCOMES

    def confident_wrong(self) -> bool:
        return m.confident_wrong(self.outcome, self.expect, self.cited, self.gold)

    def candidate_wrong(self) -> bool:
        return self.expect != "answer" or not any(m.in_any(d, self.gold) for d in self.candidate_cited)

    def candidate_correct(self) -> bool:
        """For the reliability diagram: the (possible) answer cites a gold document and has every fact."""
        found = m.facts_found(self.candidate_answer, self.facts)
        return any(m.in_any(d, self.gold) for d in self.candidate_cited) and all(found)

    def gate_case(self) -> m.GateCase:
        return m.GateCase(self.confidence, self.expect, self.gated, self.candidate_wrong(), self.outcome)

    def as_dict(self, with_answer: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "language": self.language, "kind": self.kind, "department": self.department,
            "expect": self.expect, "split": self.split, "question": self.question,
            "gold": [sorted(g) for g in self.gold], "gold_sections": self.gold_sections,
            "ranked": self.ranked[:10], "latency_ms": round(self.latency_ms, 1),
        }
        if self.query and self.query != self.question:
            out["query"] = self.query
        if self.retrieval():
            out["retrieval"] = {k: round(v, 4) for k, v in (self.retrieval() or {}).items()}
        if self.pipeline:
            out.update({
                "outcome": self.outcome, "reason": self.reason, "confidence": round(self.confidence, 4),
                "intent": self.intent, "answer_language": self.answer_language, "cited": self.cited,
                "cited_sections": self.cited_sections, "language_ok": self.language_ok,
                "confident_wrong": self.confident_wrong(), "missing_facts": self.missing_facts(),
            })
            if self.fact_ranks:
                out["missing_fact_chunk_rank"] = self.fact_ranks
            if with_answer:
                out["answer"] = self.answer[:600]
            if self.composer:
                out["composer"] = self.composer | {"extractive": self.composer["extractive"][:600]}
        return out


# --- summaries ------------------------------------------------------------------------------------------------

def summarize(records: Sequence[Record]) -> dict[str, float | None]:
    """Flat metrics of a set of records (None where a metric has no question to measure it on)."""
    out: dict[str, float | None] = {"questions": float(len(records))}
    retrieval = [r for r in (rec.retrieval() for rec in records) if r]
    for key in [f"recall@{k}" for k in RETRIEVAL_KS] + ["mrr@10", "ndcg@10"]:
        out[key] = m.mean(r[key] for r in retrieval)
    latencies = [r.latency_ms for r in records]
    out["latency_p50_ms"] = m.percentile(latencies, 50)
    out["latency_p95_ms"] = m.percentile(latencies, 95)
    answered = [r for r in records if r.pipeline]
    if not answered:
        return out
    out["citation_precision"] = m.mean(r.citation_precision() for r in answered)
    out["fact_recall"] = m.mean(r.fact_recall() for r in answered)
    out["language_match"] = m.mean(None if r.language_ok is None else float(r.language_ok) for r in answered)
    scoped = [r for r in answered if r.expect in ESCALATION_SCOPE]  # the other kinds have their own metrics
    scores = m.prf([r.should_not_answer for r in scoped], [r.did_not_answer for r in scoped])
    has_predicted, has_expected = scores.tp + scores.fp > 0, scores.tp + scores.fn > 0
    out["escalation_precision"] = scores.precision if has_predicted else None  # undefined, not 0, in a
    out["escalation_recall"] = scores.recall if has_expected else None  # breakdown without positives
    out["escalation_f1"] = scores.f1 if has_predicted and has_expected else None
    out["confident_wrong_rate"] = sum(r.confident_wrong() for r in answered) / len(answered)
    out["answer_rate"] = sum(r.answered for r in answered) / len(answered)
    out.update(judgment_metrics(answered))
    calib = calibration_records(answered)
    out["ece"] = m.expected_calibration_error(
        m.reliability([r.confidence for r in calib], [r.candidate_correct() for r in calib]))
    return out


def calibration_records(records: Sequence[Record]) -> list[Record]:
    """Questions that should be answered and whose outcome the confidence gate decided."""
    return [r for r in records if r.pipeline and r.gated and r.expect == "answer"]


def breakdown(records: Sequence[Record], key: str) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(str(getattr(r, key)) or "-", []).append(r)
    return {name: summarize(rs) for name, rs in sorted(groups.items())}


def rate_by(records: Sequence[Record], predicate: Callable[[Record], bool]) -> dict[str, float | None]:
    """Answer rate (and count) of the records selected by `predicate` vs the rest."""
    def rate(rs: list[Record]) -> float | None:
        return sum(r.answered for r in rs) / len(rs) if rs else None
    chosen = [r for r in records if predicate(r)]
    rest = [r for r in records if not predicate(r)]
    return {"selected": rate(chosen), "selected_n": float(len(chosen)), "rest": rate(rest),
            "rest_n": float(len(rest))}


def answer_rate_sweep(records: Sequence[Record], predicate: Callable[[Record], bool], step: float = 0.01
                      ) -> list[tuple[float, float | None, float | None]]:
    """(threshold, answer rate of the selected records, answer rate of the rest) if the gate answered at
    confidence >= threshold; outcomes the gate did not decide stay as they were."""
    chosen = [r for r in records if r.pipeline and predicate(r)]
    rest = [r for r in records if r.pipeline and not predicate(r)]

    def rate(rs: list[Record], t: float) -> float | None:
        if not rs:
            return None
        return sum((r.confidence >= t) if r.gated else r.answered for r in rs) / len(rs)
    thresholds = [round(i * step, 4) for i in range(int(round(1 / step)) + 1)]
    return [(t, rate(chosen, t), rate(rest, t)) for t in thresholds]


def operating_point(records: Sequence[Record], predicate: Callable[[Record], bool], answer_rest: float = 0.9
                    ) -> tuple[float, float] | None:
    """(threshold, answer rate of the selected records) at the highest confidence threshold that still answers
    `answer_rest` of the other records: how well confidence separates the two groups, whatever the gate."""
    chosen = [r for r in records if r.pipeline and predicate(r)]
    rest = [r for r in records if r.pipeline and not predicate(r)]
    if not chosen or not rest:
        return None

    def rate(rs: list[Record], t: float) -> float:
        return sum((r.confidence >= t) if r.gated else r.answered for r in rs) / len(rs)
    candidates = sorted({r.confidence for r in rest if r.gated}, reverse=True)
    threshold = next((t for t in candidates if rate(rest, t) >= answer_rest), 0.0)
    return threshold, rate(chosen, threshold)


@dataclass
class Scored:
    """Everything reported for one configuration (ablation)."""

    name: str
    records: list[Record]
    overall: dict[str, float | None]
    breakdowns: dict[str, dict[str, dict[str, float | None]]]
    sweep: list[m.SweepPoint]
    suggestion: m.SweepPoint | None
    two_thresholds: tuple[float, float | None] | None
    reliability: list[m.Bin]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.records) / self.seconds if self.seconds else 0.0


def score(name: str, records: list[Record], seconds: float, max_confident_wrong: float = 0.03) -> Scored:
    pipeline = [r for r in records if r.pipeline]
    points = m.sweep([r.gate_case() for r in pipeline]) if pipeline else []
    calib = calibration_records(pipeline)
    return Scored(
        name=name, records=records, overall=summarize(records),
        breakdowns={key: breakdown(records, key) for key in BREAKDOWNS},
        sweep=points, suggestion=m.suggest_threshold(points, max_confident_wrong) if points else None,
        two_thresholds=m.suggest_two_thresholds(points, max_confident_wrong) if points else None,
        reliability=m.reliability([r.confidence for r in calib], [r.candidate_correct() for r in calib]),
        seconds=seconds,
    )

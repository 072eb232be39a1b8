"""Per-question records → summaries and breakdowns; loading the golden set and the shared benchmarks."""

import json

import pytest

from app.evaluation.datasets import DatasetError, load_golden, shared_benchmark, subsample
from app.evaluation.scoring import Record, answer_rate_sweep, breakdown, operating_point, score, summarize
from tests.evaluation.fixtures import fake_datasets, write_jsonl


def record(id_, *, language="en", expect="answer", outcome="answered", cited=("a.md",), gold=("a.md",),
           ranked=("a.md",), confidence=0.9, reason=None, facts=(), answer="", kind="answerable",
           department="hr") -> Record:
    gated = reason in (None, "low_confidence") and outcome in ("answered", "answered_offer_human", "escalated")
    return Record(id=id_, language=language, kind=kind, department=department, expect=expect, question="q",
                  gold=[frozenset({g}) for g in gold], ranked=list(ranked), latency_ms=10.0, outcome=outcome,
                  confidence=confidence, reason=reason, answer=answer, answer_language=language,
                  cited=list(cited), facts=list(facts), language_ok=outcome.startswith("answered") or None,
                  gated=gated, candidate_cited=list(cited), candidate_answer=answer)


RECORDS = [
    record("1", answer="Payday is the 25th", facts=["25th"]),
    record("2", language="es", cited=("x.md",), ranked=("x.md", "y.md", "a.md"), answer="nada", facts=["25th"]),
    record("3", expect="escalate", outcome="escalated", cited=(), gold=(), ranked=("x.md",), confidence=0.3,
           reason="low_confidence", kind="unanswerable"),
    record("4", expect="human", outcome="escalated", cited=(), gold=(), ranked=(), confidence=0.5, reason="human",
           kind="human"),
    record("5", language="es", expect="escalate", outcome="answered_offer_human", cited=("x.md",), gold=(),
           confidence=0.5, kind="unanswerable"),
]


def test_summary_of_known_records():
    s = summarize(RECORDS)
    assert s["questions"] == 5
    assert s["recall@1"] == 0.5 and s["recall@5"] == 1.0  # questions 1 and 2 have gold
    assert s["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert s["citation_precision"] == 0.5  # 1: gold cited; 2: wrong document
    assert s["fact_recall"] == 0.5
    assert s["language_match"] == 1.0
    # should not answer: 3, 4, 5; did not answer: 3, 4 → precision 1, recall 2/3
    assert s["escalation_precision"] == 1.0 and s["escalation_recall"] == pytest.approx(2 / 3)
    assert s["escalation_f1"] == pytest.approx(0.8)
    assert s["confident_wrong_rate"] == pytest.approx(1 / 5)  # question 2: answered citing no gold
    assert s["answer_rate"] == pytest.approx(3 / 5)
    assert s["latency_p50_ms"] == 10.0


def test_escalation_metrics_are_undefined_without_positives():
    s = summarize([RECORDS[0], RECORDS[1]])  # two questions that should be answered, both answered
    assert s["escalation_precision"] is None and s["escalation_recall"] is None and s["escalation_f1"] is None
    s = summarize([RECORDS[0], record("e", outcome="escalated", reason="low_confidence", cited=())])
    assert s["escalation_precision"] == 0.0 and s["escalation_recall"] is None  # a needless escalation


def test_breakdown_by_language_splits_the_records():
    by_language = breakdown(RECORDS, "language")
    assert set(by_language) == {"en", "es"}
    assert by_language["es"]["questions"] == 2 and by_language["es"]["confident_wrong_rate"] == 0.5


def test_score_sweeps_and_suggests():
    scored = score("hybrid", RECORDS, seconds=2.0)
    assert scored.throughput == 2.5
    assert len(scored.sweep) == 101
    assert scored.suggestion is not None and scored.suggestion.confident_wrong <= 0.03
    assert set(scored.breakdowns) == {"split", "language", "department", "kind"}


def test_answer_rate_sweep_separates_selected_questions():
    rows = answer_rate_sweep(RECORDS, lambda r: r.kind == "unanswerable")
    at_zero = rows[0]
    assert at_zero[1] == 1.0  # both unanswerable questions are gated: at threshold 0 both would be answered
    assert rows[-1][1] == 0.0 and rows[-1][2] == 0.0  # at 1.0 nothing gated is answered; human stays escalated


def test_operating_point_answers_ninety_percent_of_the_rest():
    present = [record(f"p{i}", confidence=c) for i, c in enumerate((0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05))]
    gone = [record(f"g{i}", kind="unanswerable", expect="escalate", confidence=c) for i, c in
            enumerate((0.95, 0.15, 0.12, 0.02))]
    threshold, rate = operating_point(present + gone, lambda r: r.kind == "unanswerable", 0.9)
    assert threshold == 0.1  # 9 of the 10 present questions reach 0.1
    assert rate == 0.75  # 0.95, 0.15 and 0.12 would be answered too
    assert operating_point(present, lambda r: r.kind == "unanswerable") is None


def test_retrieval_only_records_have_no_answer_metrics():
    r = record("r", outcome="", cited=(), reason="x")
    r.pipeline = False
    s = summarize([r])
    assert s["recall@1"] == 1.0 and "escalation_f1" not in s and "citation_precision" not in s


# --- golden set ---------------------------------------------------------------------------------------------------

GOLDEN = [
    {"id": "en-001", "language": "en", "kind": "answerable", "question": "How do I reset my password?",
     "gold_docs": ["it/password-reset.md"], "facts": ["password.brightwave.example"], "department": "it",
     "expect": "answer"},
    {"id": "en-002", "language": "en", "kind": "follow_up", "question": "and for part-time staff?",
     "gold_docs": ["hr/annual-leave.md"], "facts": ["pro rata"], "department": "hr", "expect": "answer",
     "context": ["How many days of annual leave do I get?"]},
]


def test_golden_files_load(tmp_path):
    write_jsonl(tmp_path / "en.jsonl", GOLDEN)
    items = load_golden(tmp_path)
    assert [i.id for i in items] == ["en-001", "en-002"]
    assert items[1].context == ["How many days of annual leave do I get?"] and items[0].groups == []


@pytest.mark.parametrize("line,message", [
    ("{not json", "en.jsonl:2: not JSON"),
    (json.dumps({"id": "x", "language": "en", "question": "q"}), "missing expect"),
    (json.dumps({**GOLDEN[0], "id": "y", "expect": "maybe"}), "expect must be one of"),
    (json.dumps(GOLDEN[0]), "duplicate id"),
    (json.dumps({**GOLDEN[0], "id": "z", "facts": "one"}), "facts must be a list"),
])
def test_a_bad_golden_line_is_reported_with_file_and_line(tmp_path, line, message):
    (tmp_path / "en.jsonl").write_text(json.dumps(GOLDEN[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_golden(tmp_path)


def test_no_golden_files_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no golden files"):
        load_golden(tmp_path)


# --- shared benchmarks (a tiny copy of their layout) ---------------------------------------------------------------

def test_xquad_paragraphs_cross_lingual(tmp_path):
    bench = shared_benchmark("xquad-es-en", fake_datasets(tmp_path))
    assert [d.doc_id for d in bench.documents or []] == ["xquad-p000", "xquad-p001"]
    assert bench.documents[0].language == "en" and bench.items[0].language == "es"
    assert bench.items[0].gold_docs == ["xquad-p000"] and not bench.pipeline


def test_xquad_sentences_take_the_english_sentence_ids(tmp_path):
    bench = shared_benchmark("xquad-sentences", fake_datasets(tmp_path))
    assert bench.items[0].gold_docs == ["xquad-p000-s00"]


def test_faquad_counts_equivalent_paragraphs(tmp_path):
    bench = shared_benchmark("faquad", fake_datasets(tmp_path))
    assert bench.items[0].equivalents == ["faquad-d07-p01"] and bench.items[0].language == "pt"


def test_abstention_split_expects_escalation_for_removed_documents(tmp_path):
    bench = shared_benchmark("xquad-abstention", fake_datasets(tmp_path))
    assert bench.pipeline and [d.doc_id for d in bench.documents or []] == ["xquad-p001"]
    assert bench.items[0].expect == "escalate" and bench.items[0].kind == "unanswerable"


def test_missing_shared_data_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        shared_benchmark("faquad", tmp_path)


def test_subsample_is_deterministic_and_keeps_order():
    items = list(range(100))
    first = subsample(items, 10)  # type: ignore[arg-type]
    assert first == subsample(items, 10) and first == sorted(first) and len(first) == 10  # type: ignore[arg-type]
    assert subsample(items, None) == items and subsample(items, 500) == items  # type: ignore[arg-type]

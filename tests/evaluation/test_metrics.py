"""Every metric of `ayuda eval` on small cases whose values are known by hand."""

import math

import pytest

from app.evaluation import metrics as m

A, B, C, X, Y = "a.md", "b.md", "c.md", "x.md", "y.md"


def groups(*docs: str | tuple[str, ...]) -> list[frozenset[str]]:
    return [frozenset(d if isinstance(d, tuple) else (d,)) for d in docs]


def test_recall_at_k_counts_gold_found_within_the_first_k():
    ranked = [X, Y, A, B]
    assert m.recall_at_k(ranked, groups(A), 1) == 0.0
    assert m.recall_at_k(ranked, groups(A), 3) == 1.0
    assert m.recall_at_k(ranked, groups(A, C), 5) == 0.5
    assert m.recall_at_k(ranked, groups(A, B), 10) == 1.0


def test_a_translation_of_a_gold_document_counts_as_gold_once():
    ranked = ["a.es.md", A, B]
    gold = groups((A, "a.es.md", "a.pt.md"))
    assert m.recall_at_k(ranked, gold, 1) == 1.0
    assert m.ndcg_at_k(ranked, gold, 10) == 1.0  # the second version adds nothing, and costs nothing


def test_recall_needs_gold():
    with pytest.raises(ValueError):
        m.recall_at_k([A], [], 5)


def test_mrr_is_the_reciprocal_rank_of_the_first_gold_document():
    assert m.mrr_at_k([X, Y, A], groups(A)) == pytest.approx(1 / 3)
    assert m.mrr_at_k([A, B], groups(B, A)) == 1.0
    assert m.mrr_at_k([X, Y], groups(A)) == 0.0
    assert m.mrr_at_k([X, Y, A], groups(A), k=2) == 0.0


def test_ndcg_with_known_values():
    # gold at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k([X, A, Y, B], groups(A, B), 10) == pytest.approx(expected)
    assert m.ndcg_at_k([X, A, Y, B], groups(A, B), 10) == pytest.approx(0.6509, abs=1e-4)
    assert m.ndcg_at_k([A, B], groups(A, B)) == 1.0
    assert m.ndcg_at_k([X, Y], groups(A)) == 0.0
    assert m.ndcg_at_k([X, A], groups(A)) == pytest.approx(1 / math.log2(3))


def test_dedupe_keeps_first_seen_order():
    assert m.dedupe([A, B, A, C, B]) == [A, B, C]


def test_citation_precision_is_the_share_of_distinct_cited_documents_that_are_gold():
    assert m.citation_precision([A, B, A], groups(A)) == 0.5
    assert m.citation_precision(["a.es.md"], groups((A, "a.es.md"))) == 1.0
    assert m.citation_precision([X], groups(A)) == 0.0
    assert m.citation_precision([], groups(A)) is None


def test_fact_recall_is_case_and_whitespace_insensitive():
    answer = "Pay day is the 25th of each month.\nUse  PeopleHub   to see payslips."
    assert m.fact_recall(answer, ["25TH", "peoplehub to see"]) == 1.0
    assert m.fact_recall(answer, ["25th", "R$ 48,00"]) == 0.5
    assert m.fact_recall(answer, []) is None
    assert m.facts_found(answer, ["nope", "pay day"]) == [False, True]


def test_language_match_requires_the_answer_language_and_the_users_version_when_it_exists():
    versions = {"leave": {"en", "es"}, "vpn": {"es"}}
    assert m.language_match("es", "es", [("hr/leave.es.md", "es", "leave")], versions)
    assert not m.language_match("es", "en", [("hr/leave.es.md", "es", "leave")], versions)
    assert not m.language_match("es", "es", [("hr/leave.md", "en", "leave")], versions)  # es version exists
    assert m.language_match("pt", "pt", [("hr/leave.md", "en", "leave")], versions)  # no pt version: fine
    assert m.language_match("en", "en", [("it/vpn.es.md", "es", "vpn")], versions)
    assert m.language_match("en", "en", [("it/other.md", "en", "")], versions)


def test_precision_recall_f1_of_the_positive_class():
    s = m.prf([True, True, False, False], [True, False, True, False])
    assert (s.precision, s.recall, s.f1, s.tp, s.fp, s.fn) == (0.5, 0.5, 0.5, 1, 1, 1)
    s = m.prf([True, True, True, False], [True, True, False, False])
    assert s.precision == 1.0 and s.recall == pytest.approx(2 / 3) and s.f1 == pytest.approx(0.8)
    none_predicted = m.prf([True, False], [False, False])
    assert (none_predicted.precision, none_predicted.recall, none_predicted.f1) == (0.0, 0.0, 0.0)


def test_should_not_answer_and_did_not_answer_classes():
    assert [m.should_not_answer(e) for e in ("answer", "escalate", "human", "sensitive")] == [
        False, True, True, True]
    assert [m.did_not_answer(o) for o in ("answered", "answered_offer_human", "escalated", "clarify",
                                          "not_ready", "smalltalk")] == [False, False, True, True, True, False]


def test_confident_wrong_is_a_plain_answer_that_should_not_be_or_cites_no_gold():
    gold = groups(A)
    assert m.confident_wrong("answered", "escalate", [A], gold)
    assert m.confident_wrong("answered", "answer", [X], gold)
    assert m.confident_wrong("answered", "answer", [], gold)
    assert not m.confident_wrong("answered", "answer", [X, A], gold)
    assert not m.confident_wrong("answered_offer_human", "escalate", [X], gold)  # offered a person
    assert not m.confident_wrong("escalated", "answer", [], gold)


CASES = [
    # confidence, expect, gated, wrong-if-answered
    m.GateCase(0.9, "answer", True, False),
    m.GateCase(0.8, "answer", True, True),
    m.GateCase(0.7, "escalate", True, True),
    m.GateCase(0.3, "escalate", True, True),
    m.GateCase(0.5, "human", False, True, "escalated"),  # routed to a person whatever the threshold
]


def test_at_threshold_simulates_the_gate():
    p = m.at_threshold(CASES, 0.75)
    # escalated: 0.7 and 0.3 (gated) + the human one; positives: 0.7, 0.3, human → precision 1, recall 1
    assert (p.precision, p.recall, p.f1) == (1.0, 1.0, 1.0)
    assert p.confident_wrong == pytest.approx(1 / 5)  # the 0.8 answer cites no gold
    assert p.answer_rate == pytest.approx(2 / 5)
    low = m.at_threshold(CASES, 0.0)
    assert low.recall == pytest.approx(1 / 3) and low.confident_wrong == pytest.approx(3 / 5)
    high = m.at_threshold(CASES, 0.95)
    assert high.confident_wrong == 0.0 and high.precision == pytest.approx(3 / 5) and high.recall == 1.0


def test_sweep_covers_zero_to_one():
    points = m.sweep(CASES, step=0.05)
    assert len(points) == 21 and points[0].threshold == 0.0 and points[-1].threshold == 1.0


def test_suggested_threshold_maximises_f1_within_the_confident_wrong_limit():
    points = m.sweep(CASES)
    best = m.suggest_threshold(points, max_confident_wrong=0.0)
    assert best is not None and best.threshold == pytest.approx(0.81)  # lowest with no confident-wrong answer
    assert best.f1 == pytest.approx(m.at_threshold(CASES, 0.81).f1)
    loose = m.suggest_threshold(points, max_confident_wrong=0.25)
    assert loose is not None and loose.threshold == pytest.approx(0.71) and loose.f1 == 1.0
    impossible = [m.GateCase(0.9, "escalate", True, True)]
    assert m.suggest_threshold([m.at_threshold(impossible, 0.5)], 0.03) is None


def test_two_thresholds_escalate_by_f1_and_answer_plainly_within_the_limit():
    offer, answer = m.suggest_two_thresholds(m.sweep(CASES), max_confident_wrong=0.0)
    assert offer == pytest.approx(0.71) and answer == pytest.approx(0.81)


def test_reliability_bins_and_calibration_error():
    table = m.reliability([0.05, 0.15, 0.95, 0.95, 1.0], [False, True, True, False, True], bins=10)
    assert [b.count for b in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert table[9].accuracy == pytest.approx(2 / 3) and table[9].mean_confidence == pytest.approx(2.9 / 3)
    assert table[2].accuracy is None
    # ECE = 1/5·|0−0.05| + 1/5·|1−0.15| + 3/5·|2/3−0.9667|
    assert m.expected_calibration_error(table) == pytest.approx(0.05 / 5 + 0.85 / 5 + 3 / 5 * (2.9 / 3 - 2 / 3))
    assert m.expected_calibration_error(m.reliability([], [])) is None


def test_percentile_and_mean():
    assert m.percentile([10, 20, 30, 40, 50], 50) == 30
    assert m.percentile([10, 20, 30, 40], 50) == 25
    assert m.percentile([1.0, 2.0, 3.0, 4.0, 100.0], 95) == pytest.approx(80.8)
    assert m.percentile([], 50) is None
    assert m.mean([1.0, None, 3.0]) == 2.0 and m.mean([None]) is None

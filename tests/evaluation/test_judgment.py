"""Judgment metrics: fully right, what each kind of message got, intent precision/recall, dev/test splits."""

import json

import pytest

from app.evaluation.datasets import DatasetError, load_golden
from app.evaluation.judgment import intent_scores, judgment_metrics, section_ok
from app.evaluation.scoring import summarize
from tests.evaluation.test_scoring_and_datasets import record


def judged(id_, expect, outcome, reason=None, intent="question", **kw):  # type: ignore[no-untyped-def]
    r = record(id_, expect=expect, outcome=outcome, reason=reason, **kw)
    r.intent = intent
    return r


def test_fully_right_needs_document_section_facts_and_language():
    right = judged("1", "answer", "answered", answer="Payday is the 25th", facts=["25th"])
    right.gold_sections, right.cited_sections = ["When is payday?"], ["Pay > When is payday?"]
    wrong_section = judged("2", "answer", "answered", answer="Payday is the 25th", facts=["25th"])
    wrong_section.gold_sections, wrong_section.cited_sections = ["When is payday?"], ["Tax forms"]
    no_fact = judged("3", "answer", "answered", answer="See PeopleHub", facts=["25th"])
    links_only = judged("4", "answer", "answered_offer_human", answer="These pages may help", facts=["25th"])
    m = judgment_metrics([right, wrong_section, no_fact, links_only])
    assert m["fully_right"] == 0.25 and m["section_match"] == 0.5


def test_section_match_reads_every_level_of_the_cited_path():
    assert section_ok(["Fire and emergency evacuation > When the alarm sounds"], ["When the alarm sounds"])
    assert section_ok(["Tax forms"], ["When is payday?"]) is False
    assert section_ok(["anything"], []) is None


def test_each_kind_of_message_is_scored_by_what_it_should_get():
    records = [
        judged("o1", "off_topic", "off_topic", "off_topic", "off_topic", cited=(), gold=()),
        judged("o2", "off_topic", "escalated", "low_confidence", "question", cited=(), gold=()),
        judged("p1", "declined", "declined", "private_data", "private_data", cited=(), gold=()),
        judged("s1", "sensitive", "escalated", "sensitive", "sensitive", cited=(), gold=()),
        judged("c1", "crisis", "escalated", "sensitive", "sensitive", cited=(), gold=()),
        judged("u1", "escalate", "answered", None, "question", cited=("x.md",), gold=()),
        judged("u2", "escalate", "escalated", "low_confidence", "question", cited=(), gold=()),
        # links to the closest pages without a quote are not an answer
        judged("u3", "escalate", "answered_offer_human", None, "question", cited=("x.md",), gold=()),
        judged("u4", "escalate", "escalated", "low_confidence", "question", cited=(), gold=()),
    ]
    m = judgment_metrics(records)
    assert m["off_topic_tickets"] == 0.5 and m["off_topic_answered"] == 0.0
    assert m["private_declined"] == 1.0 and m["sensitive_confidential"] == 1.0
    assert m["crisis_confidential"] == 1.0 and m["crisis_resources"] == 0.0  # the lane, but not the support lines
    assert m["unanswerable_answered"] == 0.25  # u1 of u1–u4: links only (u3) is not an answer
    intents = intent_scores(records)
    assert intents["off_topic"]["recall"] == 0.5 and intents["crisis"]["recall"] == 0.0
    assert intents["safety_lane"]["recall"] == 1.0
    assert summarize(records)["fully_right"] is None  # no answer-expected question here


def test_golden_split_field_is_checked_and_filters(tmp_path):
    rows = [{"id": "en-1", "language": "en", "question": "q", "expect": "answer", "split": "dev"},
            {"id": "en-2", "language": "en", "question": "q", "expect": "off_topic", "split": "test"}]
    (tmp_path / "en.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert [i.id for i in load_golden(tmp_path, "test")] == ["en-2"]
    assert len(load_golden(tmp_path)) == 2
    (tmp_path / "en.jsonl").write_text(json.dumps(rows[0] | {"split": "tuning"}))
    with pytest.raises(DatasetError, match="split must be one of"):
        load_golden(tmp_path)


def test_the_golden_set_is_big_enough_and_covers_every_intent():
    from collections import Counter
    from pathlib import Path

    items = load_golden(Path(__file__).resolve().parents[2] / "eval" / "golden")
    expects = Counter(i.expect for i in items)
    assert len(items) >= 400
    assert expects["off_topic"] >= 30 and expects["declined"] >= 20
    assert expects["sensitive"] + expects["crisis"] >= 25
    splits = Counter(i.split for i in items)
    assert splits["test"] >= 150 and splits["dev"] >= 150

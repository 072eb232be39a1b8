"""The analytics rules on hand-made rows (no model, no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from app.analytics.data import Dataset, Period, TicketRow, Turn, UserMessage
from app.analytics.export import _cell
from app.analytics.gaps import is_gap
from app.analytics.service import csat, deflection, outcomes, sla
from app.analytics.similarity import QuestionEncoder, greedy_clusters, normalized, topic_label

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def turn(text: str, days_ago: float, user: str = "ana", outcome: str = "answered", helpful: bool | None = None,
         reason: str | None = None) -> Turn:
    at = NOW - dt.timedelta(days=days_ago)
    q = UserMessage(f"q-{text}-{days_ago}-{user}", f"c-{text}", user, text, "en", at, text)
    return Turn(q, f"r-{text}-{days_ago}", "answer", at + dt.timedelta(seconds=1), outcome, reason, helpful, None,
                None, None)


def dataset(turns: list[Turn], tickets: list[TicketRow] = ()) -> Dataset:  # type: ignore[assignment]
    ds = Dataset(Period.of(30, NOW), turns, [t.question for t in turns], list(tickets))
    ds.user_messages.sort(key=lambda m: m.at)
    return ds


def ticket(requester: str, days_ago: float, queue: str = "hr", **extra) -> TicketRow:  # type: ignore[no-untyped-def]
    created = NOW - dt.timedelta(days=days_ago)
    fields = {"first_response_at": None, "first_response_due": created + dt.timedelta(hours=8),
              "resolved_at": None, "resolution_due": created + dt.timedelta(hours=40), "csat_score": None,
              "status": "new"} | extra
    return TicketRow(f"t-{requester}-{days_ago}", queue, requester, fields.pop("status"), created, **fields)


def test_period_starts_at_midnight_utc_days_before_today():
    p = Period.of(30, NOW)
    assert p.as_dict() == {"from": "2026-10-24", "to": "2026-11-23", "days": 30}
    assert p.start == dt.datetime(2026, 10, 24, tzinfo=dt.UTC)


def test_durable_needs_age_silence_no_ticket_and_no_repeat():
    encoder = QuestionEncoder(None)  # without a model "similar" means "identical once normalized"
    rows = [
        turn("How do I claim expenses?", 10),                              # durable
        turn("Where is the parking?", 10, user="bob"),                     # repeated (punctuation, accents) → unknown
        turn("where is the PARKING", 9.5, user="bob", outcome="clarify"),
        turn("Can I carry over leave?", 10, user="carla"),                 # ticket in another queue 3 days later
        turn("Is Monday a holiday?", 3, user="dan"),                        # too recent → unknown
        turn("What is the dress code?", 12, user="eve", helpful=False),    # 👎 → unknown
        turn("How do I get a badge?", 12, user="fred", helpful=True),      # confirmed
        turn("How do I get a new badge?", 12 - 8, user="fred"),            # asked 8 days later: too recent anyway
    ]
    d = deflection(dataset(rows, [ticket("carla", 7)]), encoder)
    assert (d["answered"], d["confirmed"], d["durable"], d["unknown"]) == (7, 1, 1, 5)
    # A repeat more than 7 days later does not spoil it.
    d = deflection(dataset([turn("Where is the parking?", 20), turn("where is the parking", 11)]), encoder)
    assert d["durable"] == 2


def test_outcomes_csat_and_sla_counts():
    rows = [turn("a", 1), turn("b", 1, outcome="answered_offer_human", helpful=True),
            turn("c", 1, outcome="escalated", helpful=False), turn("hi", 1, outcome="smalltalk")]
    ds = dataset(rows, [
        ticket("ana", 2, queue="it", status="resolved", first_response_at=NOW - dt.timedelta(days=2, hours=-1),
               resolved_at=NOW - dt.timedelta(days=1), csat_score=3),
        ticket("bob", 0.01, queue="it"),
    ])
    assert outcomes(ds) == {"answered": 1, "answered_offer_human": 1, "escalated": 1, "clarify": 0,
                            "smalltalk": 1, "declined": 0, "off_topic": 0, "not_ready": 0}
    assert csat(ds) == {"bot": {"helpful": 1, "not_helpful": 0, "rate": 1.0}, "human": {"count": 1, "average": 3.0}}
    [it] = sla(ds)
    assert it["first_response"] == {"met": 1, "breached": 0, "open": 1, "median_hours": 1.0}
    assert it["resolution"] == {"met": 1, "breached": 0, "open": 1, "median_hours": 24.0}


def test_gap_selection_leaves_out_people_requests_and_sensitive_topics():
    assert is_gap(turn("x", 1, outcome="escalated", reason="low_confidence"))
    assert is_gap(turn("x", 1, outcome="escalated", reason="no_results"))
    assert is_gap(turn("x", 1, outcome="clarify", reason="ambiguous"))
    assert is_gap(turn("x", 1, outcome="answered", helpful=False))
    assert not is_gap(turn("x", 1, outcome="escalated", reason="human"))
    assert not is_gap(turn("x", 1, outcome="escalated", reason="sensitive", helpful=False))
    assert not is_gap(turn("x", 1, outcome="answered"))


def test_greedy_clusters_and_labels():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    near_a = np.array([0.95, 0.31]) / np.linalg.norm([0.95, 0.31])
    assert greedy_clusters(np.vstack([a, b, near_a, b]), 0.9) == [[0, 2], [1, 3]]
    label = topic_label([("My docking station is buzzing", "en"), ("the dock buzzes", "en"),
                         ("Mi docking station hace ruido", "es")])
    assert label.split() == ["docking", "station", "buzzing"]
    assert normalized("¿Dónde está el PARKING?") == "donde esta el parking"
    assert topic_label([("?", "en")]) == "other"


def test_csv_cells_never_run_as_formulas():
    assert _cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and _cell("-1") == "'-1"
    assert _cell(None) == "" and _cell(3) == 3 and _cell("plain") == "plain"

"""Admin analytics as pure functions over a SQLAlchemy session and the settings (no FastAPI).

See app/analytics/data.py for the period and the vocabulary (turn, question, answered turn).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.analytics.data import ANSWERED, Dataset, TicketRow, Turn, UserMessage, load
from app.analytics.gaps import content_gaps
from app.analytics.similarity import QuestionEncoder, normalized
from app.config import Settings
from app.privacy.access import HIDDEN_ANSWER, may_read
from app.retrieval.documents import EVERYONE

# declined (someone else's private data) and off_topic are counted apart: neither deflections nor escalations.
OUTCOMES = ("answered", "answered_offer_human", "escalated", "clarify", "smalltalk", "declined", "off_topic",
            "not_ready")
DURABLE_DAYS = 7
REPEAT_COSINE = 0.9
NEGATIVE_FEEDBACK_LIMIT = 200

DEFINITIONS = {
    "confirmed": "Answered turns the employee marked helpful (👍).",
    "durable": (f"Answered turns at least {DURABLE_DAYS} days old with no 👍 or 👎 where, within {DURABLE_DAYS} days "
                "after the answer, the same employee neither opened a ticket nor asked a similar question again "
                f"(same words once accents and punctuation are ignored, or question embeddings with cosine ≥ "
                f"{REPEAT_COSINE}). Likely resolved, not confirmed."),
    "unknown": ("Every other answered turn, never counted as resolved: 👎 answers, answers followed by a ticket or "
                f"a repeated question within {DURABLE_DAYS} days, and answers less than {DURABLE_DAYS} days old "
                "that nobody confirmed yet."),
}


def conversations_per_day(ds: Dataset) -> list[dict[str, Any]]:
    """Every date of the period (zeros included): conversations with a user message that day, and questions."""
    convs: dict[dt.date, set[str]] = defaultdict(set)
    questions: Counter[dt.date] = Counter()
    for m in ds.user_messages:
        convs[m.at.date()].add(m.conversation_id)
    for t in ds.questions:
        questions[t.question.at.date()] += 1
    day, last, out = ds.period.start.date(), ds.period.now.date(), []
    while day <= last:
        out.append({"date": day.isoformat(), "conversations": len(convs[day]), "questions": questions[day]})
        day += dt.timedelta(days=1)
    return out


def outcomes(ds: Dataset) -> dict[str, int]:
    counts = Counter(t.outcome for t in ds.turns)
    return {o: counts.get(o, 0) for o in OUTCOMES} | {o: n for o, n in counts.items() if o not in OUTCOMES}


def deflection(ds: Dataset, encoder: QuestionEncoder) -> dict[str, Any]:
    """Answered turns split three ways: confirmed, durable, unknown (see DEFINITIONS).

    Durable rule: the turn has `helpful` unset, its answer is at least DURABLE_DAYS old, and in the DURABLE_DAYS
    after the answer the same employee (a) opened no ticket, in any queue, and (b) sent no message that repeats
    the question: identical once accent-folded and stripped of punctuation (`normalized`), or with a cosine of
    the two question embeddings (`Embedder.encode_queries`) ≥ REPEAT_COSINE. Everything else is unknown.
    """
    answered = [t for t in ds.turns if t.outcome in ANSWERED]
    confirmed = [t for t in answered if t.helpful is True]
    window = dt.timedelta(days=DURABLE_DAYS)
    tickets_of: dict[str, list[dt.datetime]] = defaultdict(list)
    for k in ds.tickets:
        tickets_of[k.requester].append(k.created_at)
    messages_of: dict[str, list[UserMessage]] = defaultdict(list)
    for m in ds.user_messages:
        messages_of[m.user_id].append(m)

    pending: list[tuple[Turn, list[UserMessage]]] = []  # candidates whose later messages need embeddings
    durable = 0
    for t in answered:
        if t.helpful is not None or ds.period.now - t.answered_at < window:
            continue
        end = t.answered_at + window
        if any(t.answered_at < at <= end for at in tickets_of[t.user_id]):
            continue
        later = [m for m in messages_of[t.user_id] if t.answered_at < m.at <= end and m.id != t.question.id]
        key = normalized(t.question.content)
        if any(normalized(m.content) == key for m in later):
            continue
        if later:
            pending.append((t, later))
        else:
            durable += 1
    if pending:
        texts = list(dict.fromkeys([t.question.content for t, _ in pending] +
                                   [m.content for _, later in pending for m in later]))
        vectors = dict(zip(texts, encoder.encode(texts), strict=True))
        for t, later in pending:
            sims = np.vstack([vectors[m.content] for m in later]) @ vectors[t.question.content]
            durable += int(float(sims.max()) < REPEAT_COSINE)
    return {"answered": len(answered), "confirmed": len(confirmed), "durable": durable,
            "unknown": len(answered) - len(confirmed) - durable, "definitions": dict(DEFINITIONS)}


def by_channel(ds: Dataset) -> list[dict[str, Any]]:
    """Per intake channel (web, slack, email, or any other value a conversation carries): conversations,
    questions, answered and escalated turns, tickets opened, and the share of questions answered."""
    convs: dict[str, set[str]] = defaultdict(set)
    for m in ds.user_messages:
        convs[m.channel].add(m.conversation_id)
    questions = Counter(t.question.channel for t in ds.questions)
    answered = Counter(t.question.channel for t in ds.turns if t.outcome in ANSWERED)
    escalated = Counter(t.question.channel for t in ds.turns if t.outcome == "escalated")
    tickets = Counter(k.channel for k in ds.tickets)
    names = sorted(set(convs) | set(tickets), key=lambda c: (-len(convs[c]), c))
    return [{"channel": c, "conversations": len(convs[c]), "questions": questions[c], "answered": answered[c],
             "escalated": escalated[c], "tickets": tickets[c],
             "answered_share": round(answered[c] / questions[c], 4) if questions[c] else 0.0} for c in names]


def escalation_by_queue(ds: Dataset, settings: Settings) -> list[dict[str, Any]]:
    """Tickets opened in the period per queue (every configured queue listed), and their share of questions."""
    counts = Counter(k.queue for k in ds.tickets)
    questions = len(ds.questions)
    names = list(settings.queues) + sorted(set(counts) - set(settings.queues))
    rows = [{"queue": q, "name": settings.queues[q].name if q in settings.queues else q, "tickets": counts[q],
             "share_of_questions": round(counts[q] / questions, 4) if questions else 0.0} for q in names]
    return sorted(rows, key=lambda r: -r["tickets"])


def _median_hours(deltas: list[dt.timedelta]) -> float | None:
    return round(statistics.median(d.total_seconds() for d in deltas) / 3600, 2) if deltas else None


def _sla_part(pairs: list[tuple[dt.datetime, dt.datetime | None, dt.datetime]], now: dt.datetime) -> dict[str, Any]:
    """(created, done_at or None, due) → met / breached / open (not done and not yet due) and the median time."""
    met = sum(1 for _, done, due in pairs if done is not None and done <= due)
    breached = sum(1 for _, done, due in pairs if (done is not None and done > due) or (done is None and now > due))
    return {"met": met, "breached": breached, "open": len(pairs) - met - breached,
            "median_hours": _median_hours([done - created for created, done, _ in pairs if done is not None])}


def sla(ds: Dataset) -> list[dict[str, Any]]:
    """Per queue with tickets in the period, first response and resolution against their due times.

    A ticket resolved without an agent reply counts as answered at its resolution. Resolution counts only for
    tickets now resolved or closed (a reopened ticket is open again). `median_hours` is wall-clock time from
    creation; met/breached use the SLA due times, which are computed in business hours.
    """
    by_queue: dict[str, list[TicketRow]] = defaultdict(list)
    for k in ds.tickets:
        by_queue[k.queue].append(k)
    out = []
    for queue, tickets in sorted(by_queue.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        done = [k.resolved_at if k.status in ("resolved", "closed") else None for k in tickets]
        first = [(k.created_at, k.first_response_at or d, k.first_response_due) for k, d in zip(tickets, done,
                                                                                               strict=True)]
        resolution = [(k.created_at, d, k.resolution_due) for k, d in zip(tickets, done, strict=True)]
        out.append({"queue": queue, "tickets": len(tickets), "first_response": _sla_part(first, ds.period.now),
                    "resolution": _sla_part(resolution, ds.period.now)})
    return out


def csat(ds: Dataset) -> dict[str, Any]:
    """Bot: 👍/👎 on answered turns. Human: CSAT scores (1–5) of tickets opened in the period."""
    votes = [t.helpful for t in ds.turns if t.outcome in ANSWERED and t.helpful is not None]
    helpful = sum(1 for v in votes if v)
    scores = [k.csat_score for k in ds.tickets if k.csat_score is not None]
    return {"bot": {"helpful": helpful, "not_helpful": len(votes) - helpful,
                    "rate": round(helpful / len(votes), 4) if votes else None},
            "human": {"count": len(scores), "average": round(sum(scores) / len(scores), 2) if scores else None}}


def negative_feedback(ds: Dataset, groups: set[str] | None = None,
                      limit: int = NEGATIVE_FEEDBACK_LIMIT) -> list[dict[str, Any]]:
    """👎 replies to review, newest first. Replies to sensitive topics and conversations with a confidential
    ticket are left out; an answer quoting a document restricted to a group the reader (`groups`) is not in
    is replaced by a notice (the question and comment stay: they are the employee's words, masked)."""
    groups = groups if groups is not None else {EVERYONE}
    rows = [t for t in ds.turns if t.helpful is False and t.reason != "sensitive" and not t.confidential]
    rows.sort(key=lambda t: t.answered_at, reverse=True)
    return [{"message_id": t.reply_id, "question": t.question.content,
             "answer": t.answer if may_read(t.audiences, groups) else HIDDEN_ANSWER, "comment": t.comment,
             "language": t.question.language, "created_at": t.answered_at.isoformat()} for t in rows[:limit]]


def analytics(session: Session, settings: Settings, encoder: QuestionEncoder, days: int = 30,
              now: dt.datetime | None = None, groups: set[str] | None = None) -> dict[str, Any]:
    """The whole admin analytics document (GET /api/v1/admin/analytics), for a reader in `groups`."""
    ds = load(session, days, now)
    return {
        "period": ds.period.as_dict(),
        "conversations_per_day": conversations_per_day(ds),
        "outcomes": outcomes(ds),
        "channels": by_channel(ds),
        "deflection": deflection(ds, encoder),
        "escalation_by_queue": escalation_by_queue(ds, settings),
        "sla": sla(ds),
        "csat": csat(ds),
        "negative_feedback": negative_feedback(ds, groups),
        "content_gaps": [g.as_dict() for g in content_gaps(ds, settings, encoder)],
    }

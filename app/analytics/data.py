"""The rows analytics read: each question paired with its reply, and the tickets of a period.

The period of `days` runs from midnight UTC of the date `days` before today up to now; dates are UTC dates.
Rows are read with plain SQLAlchemy expressions (SQLite and PostgreSQL alike); pairing and grouping by day are
done in Python.

Vocabulary:
- a *turn* is a user message and the assistant reply that follows it (same conversation, next `seq`);
- a *question* is a turn whose reply is not small talk;
- *answered turns* are turns whose reply outcome is `answered` or `answered_offer_human`.

What employees typed (questions, search queries, 👎 comments) is loaded masked (app/privacy/mask.py), so
analytics, content gaps, FAQ drafts and CSV never show their personal data; answers are document text. Each turn carries the restricted audiences its answer quotes and whether its conversation has a
confidential ticket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.chat.models import Conversation, Message
from app.escalation.models import Ticket
from app.escalation.service import aware
from app.privacy.mask import mask, mask_text

ANSWERED = ("answered", "answered_offer_human")


@dataclass
class Period:
    start: dt.datetime
    now: dt.datetime
    days: int

    @classmethod
    def of(cls, days: int, now: dt.datetime | None = None) -> Period:
        now = aware(now) or dt.datetime.now(dt.UTC)
        first = (now - dt.timedelta(days=days)).date()
        return cls(dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC), now, days)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.date().isoformat(), "to": self.now.date().isoformat(), "days": self.days}


@dataclass
class UserMessage:
    id: str
    conversation_id: str
    user_id: str
    content: str
    language: str
    at: dt.datetime
    search_query: str | None
    channel: str = "web"  # the conversation's: web | slack | email | any other intake


@dataclass
class Turn:
    question: UserMessage
    reply_id: str
    answer: str
    answered_at: dt.datetime
    outcome: str
    reason: str | None
    helpful: bool | None
    comment: str | None
    ticket_queue: str | None
    top_doc: str | None
    audiences: list[list[str]] = field(default_factory=list)  # restricted audiences the answer quotes
    confidential: bool = False  # the conversation has a confidential ticket

    @property
    def user_id(self) -> str:
        return self.question.user_id


@dataclass
class TicketRow:
    id: str
    queue: str
    requester: str
    status: str
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime
    resolved_at: dt.datetime | None
    resolution_due: dt.datetime
    csat_score: int | None
    channel: str = "web"  # the channel of the conversation the ticket came from


@dataclass
class Dataset:
    period: Period
    turns: list[Turn] = field(default_factory=list)
    user_messages: list[UserMessage] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)

    @property
    def questions(self) -> list[Turn]:
        return [t for t in self.turns if t.outcome not in ("smalltalk", "off_topic")]


def load(session: Session, days: int, now: dt.datetime | None = None) -> Dataset:
    """Every message and ticket of the period (a question at most 7 days old needs only later rows, also inside)."""
    ds = Dataset(Period.of(days, now))
    cols = (Message.id, Message.conversation_id, Message.seq, Message.role, Message.content, Message.language,
            Message.outcome, Message.search_query, Message.retrieval, Message.helpful, Message.feedback_comment,
            Message.created_at, Conversation.user_id, Conversation.channel)
    rows = session.execute(
        select(*cols).join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.created_at >= ds.period.start, Message.created_at <= ds.period.now)
        .order_by(Message.conversation_id, Message.seq)
    ).all()
    replies = {(r.conversation_id, r.seq): r for r in rows if r.role == "assistant"}
    confidential = set(session.scalars(select(Ticket.conversation_id).where(Ticket.confidential.is_(True))).all())
    for r in rows:
        if r.role != "user":
            continue
        q = UserMessage(r.id, r.conversation_id, r.user_id, mask_text(r.content), r.language,
                        aware(r.created_at), mask(r.search_query), r.channel or "web")  # type: ignore[arg-type]
        ds.user_messages.append(q)
        reply = replies.get((r.conversation_id, r.seq + 1))
        if reply is None:
            continue
        extra = reply.retrieval or {}
        hits = extra.get("hits") or []
        ds.turns.append(Turn(
            q, reply.id, reply.content, aware(reply.created_at), reply.outcome or "",  # type: ignore[arg-type]
            extra.get("reason"), reply.helpful, mask(reply.feedback_comment), (extra.get("ticket") or {}).get("queue"),
            hits[0].get("doc_id") if hits else None, extra.get("audiences") or [],
            r.conversation_id in confidential))
    ds.user_messages.sort(key=lambda m: m.at)
    ds.turns.sort(key=lambda t: t.question.at)
    tcols = (Ticket.id, Ticket.queue, Ticket.requester, Ticket.status, Ticket.created_at, Ticket.first_response_at,
             Ticket.first_response_due, Ticket.resolved_at, Ticket.resolution_due, Ticket.csat_score,
             Conversation.channel)
    for r in session.execute(select(*tcols).outerjoin(Conversation, Ticket.conversation_id == Conversation.id)
                             .where(Ticket.created_at >= ds.period.start, Ticket.created_at <= ds.period.now)).all():
        ds.tickets.append(TicketRow(r.id, r.queue, r.requester, r.status, aware(r.created_at),  # type: ignore[arg-type]
                                    aware(r.first_response_at), aware(r.first_response_due),  # type: ignore[arg-type]
                                    aware(r.resolved_at), aware(r.resolution_due), r.csat_score,  # type: ignore[arg-type]
                                    r.channel or "web"))
    return ds

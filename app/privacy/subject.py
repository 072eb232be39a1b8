"""Data-subject rights and retention: export everything about a user, erase a user, and anonymise closed
conversations after the retention period.

Anonymising a conversation replaces every message's text and the user id (by a random pseudonym, never
derived from the id); its tickets lose their subject, transcript, draft, CSAT comment and event texts, and
their notifications are deleted. Counts, outcomes, cited documents and timings stay, so analytics still add up.
Erasing a user anonymises all their conversations and tickets, and replaces their id wherever else it appears
(as assignee or author of events on other people's tickets, in notification payloads, in the audit log). Text
an agent wrote on another employee's ticket stays with that ticket: it belongs to the other employee's record.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import String, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from app.channels.email.models import MailThread, ProcessedMail, TicketAttachment
from app.channels.slack.models import SlackThread, SlackUser
from app.chat.models import Conversation
from app.db import rowcount
from app.escalation.models import OutboxMessage, Ticket, TicketEvent
from app.escalation.service import aware
from app.privacy.models import AuditEvent

ERASED = "[erased]"
EXPIRED = "[removed after the retention period]"
ANON_PREFIX = "anon-"
ACTIVE = ("new", "open", "pending")


def pseudonym() -> str:
    return ANON_PREFIX + uuid.uuid4().hex[:16]


def _replace(value: Any, old: str, new: str) -> Any:
    """`value` (JSON: str, list, dict) with every occurrence of `old` in its strings replaced by `new`."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


def _mentions(column: Any, user_id: str) -> Any:
    return cast(column, String).contains(user_id)


def anonymise_conversation(s: Session, conv: Conversation, alias: str, text: str) -> int:
    conv.user_id = alias
    s.execute(delete(SlackThread).where(SlackThread.conversation_id == conv.id))  # its Slack threads: forgotten
    for m in conv.messages:
        m.content, m.search_query, m.feedback_comment, m.idempotency_key = text, None, None, None
    return len(conv.messages)


def anonymise_ticket(s: Session, ticket: Ticket, alias: str, text: str) -> None:
    old = ticket.requester
    ticket.requester, ticket.subject, ticket.transcript, ticket.draft = alias, text, [], None
    ticket.csat_comment, ticket.idempotency_key = None, None
    for e in ticket.events:
        e.body = text if e.body else e.body
        e.actor = alias if e.actor == old else e.actor
        e.data = _replace(e.data or {}, old, alias)
    s.execute(delete(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id))
    s.execute(delete(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id))  # e-mailed files


def audit(s: Session, kind: str, actor: str, subject: str | None, data: dict[str, Any]) -> AuditEvent:
    event = AuditEvent(kind=kind, actor=actor, subject=subject, data=data)
    s.add(event)
    s.flush()
    return event


# --- export ----------------------------------------------------------------------------------------------
def _iso(moment: dt.datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None  # type: ignore[union-attr]


def export_user(s: Session, user_id: str, actor: str) -> dict[str, Any]:
    """Everything stored about `user_id`: conversations with their messages, tickets with their public events and
    the files the user mailed to them (the content as base64), and feedback. Nothing of another user (internal
    agent notes are left out, as in the employee's ticket view)."""
    convs = s.scalars(select(Conversation).where(Conversation.user_id == user_id)
                      .order_by(Conversation.created_at)).all()
    conversations: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for c in convs:
        messages = []
        for m in c.messages:
            messages.append({"id": m.id, "seq": m.seq, "role": m.role, "content": m.content, "language": m.language,
                             "outcome": m.outcome, "citations": m.citations or [], "created_at": _iso(m.created_at)})
            if m.helpful is not None or m.feedback_comment:
                feedback.append({"message_id": m.id, "helpful": m.helpful, "comment": m.feedback_comment})
        conversations.append({"id": c.id, "language": c.language, "channel": c.channel,
                              "created_at": _iso(c.created_at), "messages": messages})
    tickets = []
    for t in s.scalars(select(Ticket).where(Ticket.requester == user_id).order_by(Ticket.created_at)).all():
        tickets.append({
            "id": t.id, "number": t.number, "queue": t.queue, "status": t.status, "subject": t.subject,
            "language": t.language, "conversation_id": t.conversation_id, "created_at": _iso(t.created_at),
            "csat_score": t.csat_score, "csat_comment": t.csat_comment,
            "events": [{"seq": e.seq, "kind": e.kind, "actor": e.actor, "body": e.body,
                        "created_at": _iso(e.created_at)} for e in t.events if e.public],
            "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                             "created_at": _iso(a.created_at), "data_base64": base64.b64encode(a.data).decode("ascii")}
                            for a in s.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == t.id)
                                               .order_by(TicketAttachment.created_at))],
        })
        if t.csat_score is not None:
            feedback.append({"ticket": t.number, "csat_score": t.csat_score, "comment": t.csat_comment})
    audit(s, "privacy.export", actor, user_id, {"conversations": len(conversations), "tickets": len(tickets)})
    return {"user": user_id, "exported_at": dt.datetime.now(dt.UTC).isoformat(), "conversations": conversations,
            "tickets": tickets, "feedback": feedback}


# --- erase -----------------------------------------------------------------------------------------------
def erase_user(s: Session, user_id: str, actor: str) -> dict[str, Any]:
    """Anonymise everything of `user_id` and record a `privacy.erase` audit event (subject: the pseudonym)."""
    alias = pseudonym()
    counts = {"conversations": 0, "messages": 0, "tickets": 0, "mentions": 0}
    for conv in s.scalars(select(Conversation).where(Conversation.user_id == user_id)).all():
        counts["conversations"] += 1
        counts["messages"] += anonymise_conversation(s, conv, alias, ERASED)
    for ticket in s.scalars(select(Ticket).where(Ticket.requester == user_id)).all():
        counts["tickets"] += 1
        anonymise_ticket(s, ticket, alias, ERASED)
    s.flush()
    # The id elsewhere: assignee and event author on other tickets, notifications, the audit log.
    for ticket in s.scalars(select(Ticket).where(Ticket.assignee == user_id)).all():
        ticket.assignee = alias
        counts["mentions"] += 1
    for e in s.scalars(select(TicketEvent).where(or_(TicketEvent.actor == user_id,
                                                     _mentions(TicketEvent.data, user_id)))).all():
        e.actor = alias if e.actor == user_id else e.actor
        e.data = _replace(e.data or {}, user_id, alias)
        counts["mentions"] += 1
    counts["mentions"] += rowcount(s.execute(delete(OutboxMessage).where(OutboxMessage.recipient == user_id)))
    # The e-mail channel: the sender of processed mails, the subjects of the user's mail threads.
    counts["mentions"] += rowcount(s.execute(update(ProcessedMail).where(ProcessedMail.sender == user_id)
                                             .values(sender=alias)))
    convs = select(Conversation.id).where(Conversation.user_id == alias)
    s.execute(update(MailThread).where(MailThread.conversation_id.in_(convs)).values(subject=ERASED))
    for row in s.scalars(select(OutboxMessage).where(_mentions(OutboxMessage.payload, user_id))).all():
        row.payload = _replace(row.payload, user_id, alias)
        counts["mentions"] += 1
    for table in (SlackThread, SlackUser):  # which Slack account was theirs, their ticket threads
        counts["mentions"] += rowcount(s.execute(delete(table).where(table.user_id == user_id)))
    for a in s.scalars(select(AuditEvent).where(or_(AuditEvent.actor == user_id, AuditEvent.subject == user_id,
                                                    _mentions(AuditEvent.data, user_id)))).all():
        a.actor = alias if a.actor == user_id else a.actor
        a.subject = alias if a.subject == user_id else a.subject
        a.data = _replace(a.data or {}, user_id, alias)
    event = audit(s, "privacy.erase", actor, alias, counts)
    return {"pseudonym": alias, "audit_id": event.id, **counts}


# --- retention -------------------------------------------------------------------------------------------
def apply_retention(s: Session, days: int, now: dt.datetime | None = None, actor: str = "ayuda",
                    limit: int = 500) -> dict[str, int]:
    """Anonymise conversations (and their tickets) with no activity for `days` days whose tickets are all
    resolved or closed and untouched as long; and tickets without a conversation in the same state.
    At most `limit` conversations per call (the periodic job comes back for the rest). 0 days: nothing."""
    counts = {"conversations": 0, "tickets": 0}
    if days <= 0:
        return counts
    cutoff = (aware(now) or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    recent = select(Ticket.conversation_id).where(Ticket.conversation_id.is_not(None),
                                                  or_(Ticket.status.in_(ACTIVE), Ticket.updated_at >= cutoff))
    convs = s.scalars(select(Conversation).where(
        Conversation.updated_at < cutoff, ~Conversation.user_id.startswith(ANON_PREFIX),
        Conversation.id.not_in(recent)).limit(limit)).all()
    for conv in convs:
        alias = pseudonym()
        anonymise_conversation(s, conv, alias, EXPIRED)
        counts["conversations"] += 1
        for ticket in s.scalars(select(Ticket).where(Ticket.conversation_id == conv.id)).all():
            anonymise_ticket(s, ticket, alias, EXPIRED)
            counts["tickets"] += 1
    for ticket in s.scalars(select(Ticket).where(
            Ticket.conversation_id.is_(None), Ticket.status.not_in(ACTIVE), Ticket.updated_at < cutoff,
            ~Ticket.requester.startswith(ANON_PREFIX)).limit(limit)).all():
        anonymise_ticket(s, ticket, pseudonym(), EXPIRED)
        counts["tickets"] += 1
    if any(counts.values()):
        audit(s, "privacy.retention", actor, None, counts | {"days": days})
    return counts

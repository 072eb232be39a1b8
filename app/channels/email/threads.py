"""Message-IDs ↔ conversations and tickets. Every mail we receive or send in a conversation is recorded, so
an employee's reply (In-Reply-To/References) finds its conversation or ticket, and each of our mails carries
the thread's References. Used by the intake and by the outbox (app/escalation/notify.py) for ticket mails."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.channels.email.models import MailThread
from app.chat.models import Conversation
from app.config import Settings
from app.escalation.models import Ticket, TicketEvent

EMAIL = "email"
MAX_REFERENCES = 10  # the first mail of the thread and the latest ones (RFC 5322 §3.6.4 allows trimming)


def new_message_id(settings: Settings) -> str:
    domain = settings.mail_address.rpartition("@")[2] or "ayuda.invalid"
    return f"<ayuda.{uuid.uuid4().hex}@{domain}>"


def record(s: Session, message_id: str, conversation_id: str, ticket_id: str | None, direction: str,
           subject: str) -> None:
    if s.get(MailThread, message_id) is None:
        s.add(MailThread(message_id=message_id, conversation_id=conversation_id, ticket_id=ticket_id,
                         direction=direction, subject=subject[:300]))
        s.flush()


def find(s: Session, message_ids: list[str]) -> MailThread | None:
    """The recorded mail nearest in a reply's In-Reply-To/References (the list is nearest first)."""
    if not message_ids:
        return None
    rows = {r.message_id: r for r in s.scalars(select(MailThread).where(MailThread.message_id.in_(message_ids)))}
    return next((rows[m] for m in message_ids if m in rows), None)


def is_ours(s: Session, message_id: str) -> bool:
    row = s.get(MailThread, message_id)
    return row is not None and row.direction == "out"


def reply_headers(s: Session, settings: Settings, conversation_id: str, ticket_id: str | None,
                  subject: str | None = None, in_reply_to: str | None = None) -> dict[str, Any]:
    """Headers of our next mail in a conversation's thread (recorded, so a reply to it threads back); it
    answers `in_reply_to`, else the thread's latest mail."""
    rows = list(s.scalars(select(MailThread).where(MailThread.conversation_id == conversation_id)
                          .order_by(MailThread.created_at)))
    ids = [r.message_id for r in rows]
    refs = ids[:1] + ids[1:][-(MAX_REFERENCES - 1):] if ids else []
    base = subject or (rows[0].subject if rows else "") or "Ayuda"
    mid = new_message_id(settings)
    record(s, mid, conversation_id, ticket_id, "out", base)
    return {"message_id": mid, "in_reply_to": in_reply_to or (ids[-1] if ids else None), "references": refs,
            "subject": base if base.lower().startswith("re:") else f"Re: {base}"}


def ticket_mail(s: Session, settings: Settings, ticket: Ticket, event: str) -> dict[str, Any] | None:
    """For a ticket opened from an e-mail conversation: the headers of a mail to the employee about it, in
    the conversation's thread; {"skip": True} for `ticket.created` (the intake's reply already says it).
    None for tickets from other channels."""
    if not ticket.conversation_id:
        return None
    channel = s.scalar(select(Conversation.channel).where(Conversation.id == ticket.conversation_id))
    if channel != EMAIL:
        return None
    if event == "ticket.created":
        return {"skip": True}
    headers = reply_headers(s, settings, ticket.conversation_id, ticket.id)
    if event != "ticket.agent_reply":  # status changes, SLA, CSAT requests: written by no person
        headers["auto"] = "auto-generated"
    if event == "ticket.agent_reply":  # the whole reply (the notification text is cut at 500 characters)
        body = s.scalar(select(TicketEvent.body).where(TicketEvent.ticket_id == ticket.id,
                                                       TicketEvent.kind == "agent_reply")
                        .order_by(TicketEvent.seq.desc()).limit(1))
        headers["body"] = f"{body}\n\n-- \n{ticket.number}" if body else None
    tag = f"[{ticket.number}]"
    if tag not in headers["subject"]:
        headers["subject"] = f"{headers['subject']} {tag}"
    return headers

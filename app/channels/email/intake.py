"""One inbound mail, handled once: ignored (automatic, our own, a foreign domain), rate limited, a message on
the sender's ticket, or a chat turn whose answer (or "we opened ticket X") goes back as a threaded reply.

Everything a mail changes (the ticket message and its attachments, the reply in the outbox, the processed
mark) is written in one transaction; a chat turn is stored by the chat service first under an idempotency key
made from the Message-ID, so a pass that dies halfway is repeated without a second answer or ticket.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.channels.email import threads
from app.channels.email.models import MailThread, ProcessedMail, TicketAttachment
from app.channels.email.parse import TICKET_TAG, InboundMail, question_subject
from app.channels.email.texts import mt, size_text
from app.chat.models import Conversation
from app.chat.service import ChatService, TurnResult
from app.config import Settings
from app.db import session_scope
from app.errors import AyudaError, Conflict, InvalidInput
from app.escalation.models import OutboxMessage, Ticket
from app.escalation.service import TicketService
from app.metrics import Metrics, counted_turn
from app.ratelimits import RateLimits
from app.security import User, make_user

log = logging.getLogger(__name__)


@dataclass
class Handled:
    status: str  # answered | ticket | ticket_reply | ignored | limited | duplicate | retry
    reason: str | None = None
    conversation_id: str | None = None
    ticket_id: str | None = None


class MailIntake:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], chat: ChatService,
                 tickets: TicketService, limits: RateLimits | None = None) -> None:
        self.settings, self.sessions, self.chat, self.tickets = settings, sessions, chat, tickets
        self.limits = limits or RateLimits(settings)
        self.metrics: Metrics | None = None  # the app's /metrics, where turns are counted (set by create_app)

    def handle(self, mail: InboundMail) -> Handled:
        with session_scope(self.sessions) as s:
            if s.get(ProcessedMail, mail.message_id) is not None:
                return Handled("duplicate")
            refusal = self._refusal(s, mail)
        if refusal:
            log.info("mail %s ignored: %s", mail.message_id, refusal)
            return self._mark(mail, Handled("ignored", refusal))
        user = make_user(mail.sender, [])  # groups: none beyond `everyone` (an address proves no membership)
        if not self.limits.allow("mail:sender", user.id):
            log.warning("mail %s from a sender over AYUDA_MAIL_RATE_PER_SENDER: not answered", mail.message_id)
            return self._mark(mail, Handled("limited", "rate_limit"))
        text = mail.text or question_subject(mail.subject)
        if not text and not mail.attachments:
            return self._mark(mail, Handled("ignored", "empty"))
        with session_scope(self.sessions) as s:
            ticket = self._ticket_answered(s, mail, user)
            if ticket is not None:
                return self._on_ticket(s, mail, user, ticket, text)
            conversation_id = self._conversation(s, mail, user)
        return self._turn(mail, user, conversation_id, text)

    # --- deciding -------------------------------------------------------------------------------
    def _refusal(self, s: Session, mail: InboundMail) -> str | None:
        if mail.sender == self.settings.mail_address or threads.is_ours(s, mail.message_id):
            return "own_mail"
        if mail.automatic:
            return mail.automatic
        if mail.domain not in self.settings.mail_domains:
            return "foreign_domain"  # no reply: answering unknown senders invites spam and backscatter
        try:
            make_user(mail.sender, [])
        except AyudaError:
            return "bad_sender"
        return None

    def _ticket_answered(self, s: Session, mail: InboundMail, user: User) -> Ticket | None:
        """The sender's open ticket this mail replies to: by the thread, else by a [HR-0042] tag in the subject."""
        thread = threads.find(s, mail.referenced)
        ticket = s.get(Ticket, thread.ticket_id) if thread and thread.ticket_id else None
        if ticket is None and (tag := TICKET_TAG.search(mail.subject)):
            ticket = s.scalars(select(Ticket).where(Ticket.number == tag.group(1))).first()
        if ticket is None or ticket.requester != user.id or ticket.status == "closed":
            return None  # a closed ticket: the mail starts a new conversation
        return ticket

    def _conversation(self, s: Session, mail: InboundMail, user: User) -> str:
        """The sender's conversation this mail continues, or a new e-mail conversation; the mail is recorded
        in it first (a repeated pass finds the same conversation)."""
        mine = s.get(MailThread, mail.message_id)
        if mine is not None:
            return mine.conversation_id
        thread = threads.find(s, mail.referenced)
        conv = s.get(Conversation, thread.conversation_id) if thread else None
        if conv is None or conv.user_id != user.id:
            conv = Conversation(user_id=user.id, channel=threads.EMAIL, language="en")
            s.add(conv)
            s.flush()
        threads.record(s, mail.message_id, conv.id, None, "in", question_subject(mail.subject) or mail.subject)
        return conv.id

    # --- acting ---------------------------------------------------------------------------------
    def _on_ticket(self, s: Session, mail: InboundMail, user: User, ticket: Ticket, text: str) -> Handled:
        notes = self._attach(s, mail, ticket.id, ticket.language)
        body = text or ", ".join(a.filename for a in mail.attachments)
        self.tickets.add_employee_message(s, ticket, user.id, body,
                                          data={"channel": "email", "message_id": mail.message_id})
        threads.record(s, mail.message_id, ticket.conversation_id or "", ticket.id, "in", mail.subject)
        if notes:  # only a refused attachment is worth a mail; the agents answer the message itself
            self._reply(s, mail, ticket.conversation_id or "", ticket.id, "\n\n".join(notes), ticket.language)
        s.add(self._processed(mail, Handled("ticket_reply", None, ticket.conversation_id, ticket.id)))
        log.info("mail %s added to ticket %s", mail.message_id, ticket.number)
        return Handled("ticket_reply", None, ticket.conversation_id, ticket.id)

    def _turn(self, mail: InboundMail, user: User, conversation_id: str, text: str) -> Handled:
        if self.chat.searcher is None:  # no model: the mail waits for a server that can answer it
            return Handled("retry", "not_ready", conversation_id)
        key = "mail:" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:40]
        question = text[: self.settings.max_message_chars] or question_subject(mail.subject) or "?"
        try:
            result = counted_turn(self.metrics, lambda: self.chat.turn(user, question, conversation_id,
                                                                        idempotency_key=key))
        except Conflict:  # another mail of this conversation is being answered: next pass
            return Handled("retry", "busy", conversation_id)
        except InvalidInput:  # nothing readable once cleaned (control characters only, …)
            return self._mark(mail, Handled("ignored", "unreadable", conversation_id))
        ticket_id = result.ticket["id"] if result.ticket else None
        handled = Handled("ticket" if ticket_id else "answered", result.outcome, conversation_id, ticket_id)
        with session_scope(self.sessions) as s:
            if s.get(ProcessedMail, mail.message_id) is not None:  # a concurrent poller got here first
                return Handled("duplicate")
            notes: list[str] = []
            if ticket_id:
                inbound = s.get(MailThread, mail.message_id)
                if inbound is not None:
                    inbound.ticket_id = ticket_id
                notes = self._attach(s, mail, ticket_id, result.language)
            elif mail.attachments:
                names = ", ".join(a.filename for a in mail.attachments)
                notes = [mt(result.language, "not_kept", names=names)]
            self._reply(s, mail, conversation_id, ticket_id, self._answer(result, notes), result.language,
                        number=(result.ticket or {}).get("number"))
            s.add(self._processed(mail, handled))
        log.info("mail %s: %s (%s)", mail.message_id, handled.status, result.outcome)
        return handled

    def _attach(self, s: Session, mail: InboundMail, ticket_id: str, language: str) -> list[str]:
        """Store the mail's attachments on the ticket; a note for each one over the size limit."""
        notes, limit = [], self.settings.mail_max_attachment_bytes
        for a in mail.attachments:
            if a.size > limit:
                notes.append(mt(language, "refused", name=a.filename, size=size_text(a.size), limit=size_text(limit)))
                continue
            s.add(TicketAttachment(ticket_id=ticket_id, filename=a.filename[:255], content_type=a.content_type[:100],
                                   size=a.size, data=a.payload, message_id=mail.message_id))
        return notes

    def _answer(self, result: TurnResult, notes: list[str]) -> str:
        parts = [result.answer]
        if result.citations:
            lines = [mt(result.language, "sources")]
            for c in result.citations:
                where = f" — {c.section}" if c.section and c.section != c.title else ""
                lines.append(f"[{c.n}] {c.title}{where}" + (f": {c.url}" if c.url else ""))
            parts.append("\n".join(lines))
        if result.next_steps:
            parts.append(result.next_steps)
        parts.extend(notes)
        parts.append("-- \n" + mt(result.language, "footer"))
        return "\n\n".join(parts)

    def _reply(self, s: Session, mail: InboundMail, conversation_id: str, ticket_id: str | None, text: str,
               language: str, number: str | None = None) -> None:
        subject = question_subject(mail.subject) or mt(language, "subject")
        headers = threads.reply_headers(s, self.settings, conversation_id, ticket_id, subject,
                                        in_reply_to=mail.message_id)
        if number and f"[{number}]" not in headers["subject"]:
            headers["subject"] += f" [{number}]"
        headers["auto"] = "auto-replied"
        payload: dict[str, Any] = {"event": "mail.reply", "text": text, "email": headers}
        s.add(OutboxMessage(channel="email", event="mail.reply", ticket_id=ticket_id, recipient=mail.sender,
                            payload=payload))

    def _processed(self, mail: InboundMail, handled: Handled) -> ProcessedMail:
        return ProcessedMail(message_id=mail.message_id, sender=mail.sender[:300], status=handled.status,
                             reason=handled.reason, conversation_id=handled.conversation_id,
                             ticket_id=handled.ticket_id)

    def _mark(self, mail: InboundMail, handled: Handled) -> Handled:
        with session_scope(self.sessions) as s:
            if s.get(ProcessedMail, mail.message_id) is None:
                s.add(self._processed(mail, handled))
        return handled

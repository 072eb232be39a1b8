"""Escalation flow: turn an escalated chat turn into a ticket in the right queue, with everything an agent needs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.chat.composer import Composer, ExtractiveComposer, snippet
from app.chat.models import Message
from app.config import Settings
from app.db import session_scope
from app.escalation.models import Ticket, now
from app.escalation.service import TicketService, aware
from app.escalation.sla import sla_hours
from app.escalation.texts import tt, when
from app.retrieval.documents import Hit
from app.retrieval.text import fold
from app.security import User

ACTIVE = ("new", "open", "pending")
SAME_TOPIC_REASONS = ("low_confidence", "no_results")
SAME_TOPIC_HOURS = 24
SAME_TOPIC_COSINE = 0.85  # e5: unrelated questions ~0.75, one question reworded ~0.9 (analytics REPEAT_COSINE)
DRAFT_HITS = 3  # the draft is composed from the top hits; each source says whether it fed the draft


@dataclass
class Escalated:
    ticket: dict[str, Any] | None  # None: the employee reached the hourly ticket cap (AYUDA_TICKETS_PER_HOUR)
    message: str  # one sentence for the chat answer
    next_steps: str


def ticket_ref(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.id, "number": ticket.number, "queue": ticket.queue, "status": ticket.status}


class EscalationFlow:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], tickets: TicketService,
                 composer: Composer | None = None, similarity: Callable[[str, str], float] | None = None) -> None:
        self.settings, self.sessions, self.tickets = settings, sessions, tickets
        self.composer = composer or ExtractiveComposer()
        self.similarity = similarity  # cosine of two questions (the embedder's), for "the same topic"

    def route(self, question: str, reason: str, hits: list[Hit]) -> tuple[str, str]:
        """(queue, priority) for an escalation."""
        if reason in ("sensitive", "crisis"):
            confidential = next(n for n, q in self.settings.queues.items() if q.confidential)
            return confidential, "urgent" if reason == "crisis" else "high"
        words = set(re.findall(r"\w+", fold(question)))
        for name, queue in self.settings.queues.items():
            if any(fold(k) in words for k in queue.keywords):
                return name, "normal"
        votes: dict[str, float] = {}
        for rank, hit in enumerate(hits[:3]):  # by rank: the closest passage outweighs two weaker ones
            queue_name = self.settings.department_queues.get(hit.chunk.department)
            if queue_name:
                votes[queue_name] = votes.get(queue_name, 0.0) + 1.0 / (rank + 1)
        if votes and reason != "human":
            return max(votes, key=lambda k: votes[k]), "normal"
        return ("general" if "general" in self.settings.queues else next(iter(self.settings.queues))), "normal"

    def escalate(self, user: User, conversation_id: str, question: str, language: str, reason: str,
                 confidence: float, hits: list[Hit], idempotency_key: str | None = None) -> Escalated:
        queue_name, priority = self.route(question, reason, hits)
        with session_scope(self.sessions) as s:
            retried = idempotency_key and s.scalars(select(Ticket).where(
                Ticket.requester == user.id, Ticket.idempotency_key == idempotency_key)).first()
            if retried:  # a retry of a request whose ticket already exists: the same ticket
                queue = self.settings.queues[retried.queue].name
                return Escalated(ticket_ref(retried), tt(language, "opened", number=retried.number, queue=queue),
                                 self._next_steps(retried, language))
            # A sensitive report never joins an ordinary open ticket (its queue's agents must not read it).
            confidential = self.settings.queues[queue_name].confidential
            existing = s.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id,
                                                      Ticket.status.in_(ACTIVE),
                                                      Ticket.confidential.is_(confidential))
                                 .order_by(Ticket.created_at.desc())).first()
            if existing is None and reason in SAME_TOPIC_REASONS:
                existing = self._same_topic_ticket(s, user, queue_name, hits, question)
            if existing is not None:  # one conversation (or one topic a day), one open ticket: add to it
                self.tickets._event(s, existing, "employee_message", user.id, public=True, body=question)
                queue = self.settings.queues[existing.queue].name
                return Escalated(ticket_ref(existing), tt(language, "existing", number=existing.number, queue=queue),
                                 self._next_steps(existing, language))
            capped = self._capped(s, user.id, queue_name, language)
            if capped is not None:
                return capped
            transcript = [
                {"role": m.role, "content": m.content, "at": m.created_at.isoformat(), "outcome": m.outcome,
                 "audiences": (m.retrieval or {}).get("audiences") or []}
                for m in s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                   .order_by(Message.seq)).all()
            ]
            sources = [{"doc_id": h.chunk.doc_id, "title": h.chunk.title, "section": h.chunk.section,
                        "url": h.chunk.link(), "score": round(h.score, 5), "dense": round(h.dense or 0.0, 4),
                        "snippet": snippet(h.chunk.text), "audience": h.chunk.audience, "in_draft": i < DRAFT_HITS}
                       for i, h in enumerate(hits[:5])]
            draft = self.composer.compose(question, language, hits[:DRAFT_HITS]).answer if hits else None
            ticket = self.tickets.create(
                s, requester=user.id, queue=queue_name, priority=priority, subject=question, language=language,
                reason=reason, conversation_id=conversation_id, idempotency_key=idempotency_key,
                confidence=round(confidence, 4), transcript=transcript, sources=sources, draft=draft,
            )
            queue = self.settings.queues[queue_name].name
            return Escalated(ticket_ref(ticket), tt(language, "opened", number=ticket.number, queue=queue),
                             self._next_steps(ticket, language))

    def _same_topic_ticket(self, s: Session, user: User, queue: str, hits: list[Hit],
                           question: str) -> Ticket | None:
        """The employee's open ticket from the last day in the same queue on the same topic (the same documents
        came up, or the questions are close in meaning): a second unanswered question joins it."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=SAME_TOPIC_HOURS)
        docs = {h.chunk.doc_id for h in hits[:3]}
        candidates = s.scalars(select(Ticket).where(
            Ticket.requester == user.id, Ticket.queue == queue, Ticket.status.in_(ACTIVE),
            Ticket.reason.in_(SAME_TOPIC_REASONS), Ticket.created_at >= since,
        ).order_by(Ticket.created_at.desc())).all()
        for ticket in candidates:
            if docs & {src.get("doc_id") for src in (ticket.sources or [])[:3]}:
                return ticket
            if self.similarity and self.similarity(question, ticket.subject) >= SAME_TOPIC_COSINE:
                return ticket
        return None

    def _capped(self, s: Session, requester: str, queue_name: str, language: str) -> Escalated | None:
        """Beyond AYUDA_TICKETS_PER_HOUR new tickets, no new ticket: the turn (question and answer) is still
        stored, and the answer says so and where to reach the team. Confidential reports are never capped."""
        cap = self.settings.tickets_per_hour
        queue = self.settings.queues[queue_name]
        if not cap or queue.confidential:
            return None
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        opened = s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.requester == requester, Ticket.created_at >= since)) or 0
        if opened < cap:
            return None
        contact = queue.email or next((q.email for q in self.settings.queues.values() if q.email), None)
        key = "ticket_limit_next" if contact else "ticket_limit_next_no_email"
        return Escalated(None, tt(language, "ticket_limit", cap=cap),
                         tt(language, key, queue=queue.name, email=contact or ""))

    def _next_steps(self, ticket: Ticket, language: str) -> str:
        first, _ = sla_hours(self.settings, ticket.queue, ticket.priority)
        due = when(aware(ticket.first_response_due) or now(), language, self.settings.business_timezone)
        key = "next_steps_confidential" if ticket.confidential else "next_steps"
        return tt(language, key, queue=self.settings.queues[ticket.queue].name, due=due, hours=f"{first:g}")

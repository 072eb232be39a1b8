"""Tickets: creation, the state machine, employee and agent operations, visibility rules.

Every change appends a TicketEvent and enqueues its notifications in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer, sessionmaker

from app.channels.email.models import TicketAttachment
from app.config import Settings
from app.db import rowcount, session_scope
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.escalation.models import QueueCounter, Ticket, TicketEvent, now
from app.escalation.notify import enqueue
from app.escalation.sla import BusinessCalendar, sla_hours
from app.escalation.texts import tt
from app.security import User

STATUSES = ("new", "open", "pending", "resolved", "closed")
TRANSITIONS = {
    "new": {"open", "pending", "resolved"},
    "open": {"pending", "resolved"},
    "pending": {"open", "resolved"},
    "resolved": {"closed", "open"},  # open again = reopen
    "closed": set(),
}


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything is stored in UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def late(at: dt.datetime) -> ColumnElement[bool]:
    """In SQL, as `TicketService.breached` for a ticket not yet recorded as breached: a due time has passed."""
    return or_(and_(Ticket.first_response_at.is_(None), Ticket.first_response_due < at), Ticket.resolution_due < at)


class TicketService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings, self.sessions = settings, sessions
        self.calendar = BusinessCalendar.from_settings(settings)

    # --- creation -------------------------------------------------------------------------------
    def create(self, s: Session, *, requester: str, queue: str, priority: str, subject: str, language: str,
               reason: str, conversation_id: str | None = None, idempotency_key: str | None = None,
               confidence: float | None = None, transcript: list[dict[str, Any]] | None = None,
               sources: list[dict[str, Any]] | None = None, draft: str | None = None) -> Ticket:
        config = self.settings.queues[queue]
        number = self._next_number(s, queue)
        created = now()
        first, resolution = sla_hours(self.settings, queue, priority)
        ticket = Ticket(
            number=f"{config.code}-{number:04d}", queue=queue, priority=priority, confidential=config.confidential,
            status="new", requester=requester, subject=subject[:300], language=language, reason=reason,
            conversation_id=conversation_id, idempotency_key=idempotency_key, confidence=confidence,
            transcript=transcript or [], sources=sources or [], draft=draft, created_at=created,
            first_response_due=self.calendar.add(created, first), resolution_due=self.calendar.add(created, resolution),
        )
        s.add(ticket)
        s.flush()
        self._event(s, ticket, "created", requester, public=True, body=subject, data={"reason": reason})
        enqueue(s, self.settings, ticket, "ticket.created",
                tt(language, "event_created", number=ticket.number, subject=ticket.subject))
        return ticket

    def _next_number(self, s: Session, queue: str) -> int:
        """Atomic per-queue counter (one UPDATE … RETURNING on SQLite and PostgreSQL). The counter row is created
        with INSERT … ON CONFLICT DO NOTHING, so two first tickets of a queue at the same moment don't clash."""
        if s.get(QueueCounter, queue) is None:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            s.execute(insert(QueueCounter).values(queue=queue, last_number=0).on_conflict_do_nothing())
        return int(s.execute(update(QueueCounter).where(QueueCounter.queue == queue)
                             .values(last_number=QueueCounter.last_number + 1)
                             .returning(QueueCounter.last_number)).scalar_one())

    def _event(self, s: Session, ticket: Ticket, kind: str, actor: str, *, public: bool,
               body: str | None = None, data: dict[str, Any] | None = None) -> TicketEvent:
        # Lock the ticket before reading the next seq (a row lock on PostgreSQL, the write lock on SQLite), so
        # an employee message and an agent reply at the same moment don't both take the same seq.
        s.execute(update(Ticket).where(Ticket.id == ticket.id).values(updated_at=now()))
        seq = (s.scalar(select(func.max(TicketEvent.seq)).where(TicketEvent.ticket_id == ticket.id)) or 0) + 1
        event = TicketEvent(ticket_id=ticket.id, seq=seq, kind=kind, actor=actor, public=public, body=body,
                            data=data or {})
        s.add(event)
        ticket.updated_at = now()
        return event

    # --- visibility -----------------------------------------------------------------------------
    def agent_queues(self, user: User) -> list[str]:
        return [name for name, q in self.settings.queues.items() if q.group in user.groups]

    def _agent_ticket(self, s: Session, user: User, ticket_id: str) -> Ticket:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None or ticket.queue not in self.agent_queues(user):
            raise NotFound(f"ticket {ticket_id} does not exist in your queues")
        return ticket

    def _own_ticket(self, s: Session, user: User, ticket_id: str) -> Ticket:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None or ticket.requester != user.id:
            raise NotFound(f"ticket {ticket_id} does not exist or is not yours")
        return ticket

    # --- employee -------------------------------------------------------------------------------
    def my_tickets(self, user: User) -> list[Ticket]:
        with session_scope(self.sessions) as s:
            return list(s.scalars(select(Ticket).where(Ticket.requester == user.id)
                                  .order_by(Ticket.created_at.desc())).all())

    def my_ticket(self, user: User, ticket_id: str) -> tuple[Ticket, list[TicketEvent]]:
        with session_scope(self.sessions) as s:
            ticket = self._own_ticket(s, user, ticket_id)
            return ticket, [e for e in ticket.events if e.public]

    def employee_message(self, user: User, ticket_id: str, body: str) -> Ticket:
        with session_scope(self.sessions) as s:
            return self.add_employee_message(s, self._own_ticket(s, user, ticket_id), user.id, body)

    def add_employee_message(self, s: Session, ticket: Ticket, requester: str, body: str,
                             data: dict[str, Any] | None = None) -> Ticket:
        """The employee's message on their ticket, in the caller's transaction (the e-mail intake stores it with
        the mail's processed mark)."""
        if ticket.status == "closed":
            raise Conflict(f"ticket {ticket.number} is closed; ask a new question to open another one")
        self._event(s, ticket, "employee_message", requester, public=True, body=body, data=data)
        if ticket.status in ("pending", "resolved"):
            self._transition(s, ticket, "open", requester, reason="employee replied", notify=False)
        enqueue(s, self.settings, ticket, "ticket.employee_message",
                f"{ticket.number}: {body[:300]}", to_employee=False)
        return ticket

    def rate(self, user: User, ticket_id: str, score: int, comment: str | None) -> Ticket:
        with session_scope(self.sessions) as s:
            ticket = self._own_ticket(s, user, ticket_id)
            if ticket.status not in ("resolved", "closed"):
                raise Conflict(f"ticket {ticket.number} is {ticket.status}; it can be rated once it is resolved")
            if ticket.csat_score is not None:
                raise Conflict(f"ticket {ticket.number} was already rated")
            ticket.csat_score, ticket.csat_comment = score, comment
            self._event(s, ticket, "csat", user.id, public=True, body=comment, data={"score": score})
            return ticket

    # --- agents ---------------------------------------------------------------------------------
    def agent_tickets(self, user: User, *, queue: str | None = None, status: str | None = None,
                      priority: str | None = None, sla_breached: bool | None = None) -> list[Ticket]:
        queues = self.agent_queues(user)
        if queue:
            if queue not in self.settings.queues:
                raise BadRequest(f"unknown queue {queue!r}; queues: {', '.join(self.settings.queues)}")
            if queue not in queues:
                raise Forbidden(f"you are not a member of the {queue} queue")
            queues = [queue]
        q = select(Ticket).where(Ticket.queue.in_(queues))
        if status:
            q = q.where(Ticket.status == status)
        if priority:
            q = q.where(Ticket.priority == priority)
        with session_scope(self.sessions) as s:
            rows = list(s.scalars(q.order_by(Ticket.created_at.desc())).all())
        if sla_breached is not None:
            rows = [t for t in rows if self.breached(t) == sla_breached]
        return rows

    def agent_ticket(self, user: User, ticket_id: str) -> tuple[Ticket, list[TicketEvent]]:
        with session_scope(self.sessions) as s:
            ticket = self._agent_ticket(s, user, ticket_id)
            return ticket, list(ticket.events)

    def attachments(self, user: User, ticket_id: str) -> list[TicketAttachment]:
        """The files on a ticket (what employees attached to their mails), without their content."""
        with session_scope(self.sessions) as s:
            self._agent_ticket(s, user, ticket_id)
            return list(s.scalars(select(TicketAttachment).options(defer(TicketAttachment.data))
                                  .where(TicketAttachment.ticket_id == ticket_id)
                                  .order_by(TicketAttachment.created_at)).all())

    def attachment(self, user: User, ticket_id: str, attachment_id: str) -> TicketAttachment:
        with session_scope(self.sessions) as s:
            self._agent_ticket(s, user, ticket_id)
            found = s.get(TicketAttachment, attachment_id)
            if found is None or found.ticket_id != ticket_id:
                raise NotFound(f"attachment {attachment_id} does not exist on ticket {ticket_id}")
            return found

    def assign(self, user: User, ticket_id: str, assignee: str | None) -> Ticket:
        with session_scope(self.sessions) as s:
            ticket = self._agent_ticket(s, user, ticket_id)
            ticket.assignee = assignee or user.id
            self._event(s, ticket, "assigned", user.id, public=False, data={"assignee": ticket.assignee})
            if ticket.status == "new":
                self._transition(s, ticket, "open", user.id, reason="assigned", notify=False)
            return ticket

    def reply(self, user: User, ticket_id: str, body: str) -> Ticket:
        with session_scope(self.sessions) as s:
            ticket = self._agent_ticket(s, user, ticket_id)
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.number} is closed; reopening needs a new ticket")
            self._event(s, ticket, "agent_reply", user.id, public=True, body=body)
            if ticket.first_response_at is None:
                ticket.first_response_at = now()
            if ticket.assignee is None:
                ticket.assignee = user.id
            if ticket.status == "new":
                self._transition(s, ticket, "open", user.id, reason="first reply", notify=False)
            enqueue(s, self.settings, ticket, "ticket.agent_reply",
                    tt(ticket.language, "event_agent_reply", number=ticket.number, body=body[:500]))
            return ticket

    def note(self, user: User, ticket_id: str, body: str) -> Ticket:
        with session_scope(self.sessions) as s:
            ticket = self._agent_ticket(s, user, ticket_id)
            self._event(s, ticket, "internal_note", user.id, public=False, body=body)
            return ticket

    def set_status(self, user: User, ticket_id: str, status: str, reason: str | None = None) -> Ticket:
        with session_scope(self.sessions) as s:
            ticket = self._agent_ticket(s, user, ticket_id)
            self._transition(s, ticket, status, user.id, reason=reason)
            return ticket

    def _transition(self, s: Session, ticket: Ticket, status: str, actor: str, *, reason: str | None = None,
                    notify: bool = True) -> None:
        """Move along the state machine; `notify=False` for moves implied by a reply (already notified)."""
        if status not in STATUSES:
            raise BadRequest(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        if status not in TRANSITIONS[ticket.status]:
            allowed = ", ".join(sorted(TRANSITIONS[ticket.status])) or "none (closed is final)"
            raise Conflict(f"ticket {ticket.number} cannot go from {ticket.status} to {status}; allowed: {allowed}")
        old, ticket.status = ticket.status, status
        if status == "resolved":
            ticket.resolved_at = now()
        self._event(s, ticket, "status_changed", actor, public=True, body=reason,
                    data={"from": old, "to": status})
        if not notify:
            return
        key = "event_resolved" if status == "resolved" else "event_status"
        text = tt(ticket.language, key, number=ticket.number, status=tt(ticket.language, f"status_{status}"))
        enqueue(s, self.settings, ticket, "ticket.csat_request" if status == "resolved" else "ticket.status",
                text, data={"from": old, "to": status})

    # --- SLA ------------------------------------------------------------------------------------
    def breached(self, ticket: Ticket, at: dt.datetime | None = None) -> bool:
        at = at or now()
        if ticket.status in ("resolved", "closed"):
            return bool(ticket.sla_breached_at)
        late_first = ticket.first_response_at is None and aware(ticket.first_response_due) < at  # type: ignore[operator]
        return late_first or aware(ticket.resolution_due) < at  # type: ignore[operator]

    def check_sla(self) -> int:
        """Record (once) and notify every ticket that has just breached its SLA."""
        count, at = 0, now()
        with session_scope(self.sessions) as s:  # only the late ones are read: this runs every few seconds
            for ticket in s.scalars(select(Ticket).where(Ticket.sla_breached_at.is_(None),
                                                         Ticket.status.in_(("new", "open", "pending")),
                                                         late(at))).all():
                if not self.breached(ticket, at):  # the rule of `late`, read back on the row
                    continue
                claimed = rowcount(s.execute(update(Ticket).where(Ticket.id == ticket.id, Ticket.sla_breached_at
                                                                  .is_(None)).values(sla_breached_at=now())))
                if not claimed:  # another process recorded this breach first: notify once
                    continue
                which = "first response" if ticket.first_response_at is None else "resolution"
                due = ticket.first_response_due if which == "first response" else ticket.resolution_due
                self._event(s, ticket, "sla_breached", "ayuda", public=False, data={"which": which})
                enqueue(s, self.settings, ticket, "ticket.sla_breached",
                        tt("en", "event_sla_breach", number=ticket.number, which=which, due=str(due)),
                        to_employee=False)
                count += 1
        return count

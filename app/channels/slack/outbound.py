"""The outbox's `slack_dm` channel: ticket updates (agent reply, status change, CSAT request) as DMs to the
employee, all updates of one ticket in one thread; the employee's replies in that thread go to the ticket
(intake.py). A DM is private, so confidential tickets are delivered too; nothing here posts in a channel."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.channels.slack.api import SlackApi
from app.channels.slack.blocks import ticket_blocks
from app.channels.slack.store import SlackStore
from app.db import session_scope
from app.escalation.models import OutboxMessage, Ticket

CHANNEL = "slack_dm"


class SlackDirectMessages:
    def __init__(self, sessions: sessionmaker[Session], api: SlackApi) -> None:
        self.sessions, self.api = sessions, api
        self.store = SlackStore(sessions)

    def send(self, row: OutboxMessage) -> None:
        """Deliver one outbox row; raises on failure (the outbox retries with backoff)."""
        with session_scope(self.sessions) as s:
            ticket = s.get(Ticket, row.ticket_id) if row.ticket_id else None
            if ticket is None:
                return  # the ticket is gone (erased): nothing left to tell
            ticket_id, number, language, requester = ticket.id, ticket.number, ticket.language, ticket.requester
            rate = row.event == "ticket.csat_request" and ticket.csat_score is None
        slack_user = row.recipient or ""
        dm = self.api.open_dm(slack_user)
        thread = self.store.ticket_thread(ticket_id, dm)
        text = str(row.payload.get("text") or "")
        blocks = ticket_blocks(text, language, number, ticket_id, first=thread is None, rate=rate)
        ts = self.api.post(dm, text, blocks, thread_ts=thread.thread_ts if thread else None)
        if thread is None:
            self.store.link(dm, ts, slack_user, requester, ticket_id=ticket_id)

"""Notifications through an outbox: rows written in the ticket's transaction, delivered by a worker with retries.

Channels: a generic webhook (JSON, HMAC-SHA256 signed), a Slack incoming webhook, email over SMTP, and
`slack_dm`: the Slack app's DM to an employee known in Slack (app/channels/slack/outbound.py).
A delivery failure only reschedules the row (exponential backoff); after the last attempt it is marked
`failed` and kept, so nothing is lost (`ayuda outbox retry` puts failed rows back).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
import threading
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.channels.email.threads import ticket_mail
from app.channels.slack.store import slack_user_of
from app.config import Settings
from app.db import rowcount, session_scope
from app.escalation.models import OutboxMessage, Ticket, now
from app.privacy.mask import mask_text

log = logging.getLogger(__name__)


def enqueue(s: Session, settings: Settings, ticket: Ticket, event: str, text: str, *,
            to_employee: bool = True, data: dict[str, Any] | None = None) -> int:
    """Add one outbox row per configured channel, in the caller's transaction. Returns how many."""
    payload = {
        "event": event, "text": text, "ticket": {
            "id": ticket.id, "number": ticket.number, "queue": ticket.queue, "status": ticket.status,
            "priority": ticket.priority, "confidential": ticket.confidential, "requester": ticket.requester,
            "assignee": ticket.assignee, "url": f"{settings.public_url}/agent#ticket-{ticket.id}",
        }, "data": data or {}, "at": now().isoformat(),
    }
    # Email goes to the requester or the queue's agents, who may read the ticket; webhooks and Slack reach
    # others, so personal data is masked there.
    masked = payload | {"text": mask_text(text)}
    rows = []
    if settings.webhook_url:
        rows.append(OutboxMessage(channel="webhook", recipient=settings.webhook_url, payload=masked))
    if settings.slack_webhook_url and not ticket.confidential:  # confidential tickets stay out of Slack
        rows.append(OutboxMessage(channel="slack", recipient=settings.slack_webhook_url, payload=masked))
    if settings.slack_enabled and to_employee:  # a DM is private: confidential tickets too, never a channel
        slack_user = slack_user_of(s, ticket.requester)
        if slack_user:
            rows.append(OutboxMessage(channel="slack_dm", recipient=slack_user, payload=payload))
    if settings.smtp_host:
        recipient = ticket.requester if to_employee else settings.queues[ticket.queue].email
        # A ticket opened by e-mail: the employee's mails go in the conversation's thread (In-Reply-To,
        # References, a recorded Message-ID), so their reply lands on the ticket.
        thread = ticket_mail(s, settings, ticket, event) if to_employee and recipient else None
        if recipient and "@" in recipient and not (thread and thread.get("skip")):
            rows.append(OutboxMessage(channel="email", recipient=recipient,
                                      payload=payload | ({"email": thread} if thread else {})))
    for row in rows:
        row.event, row.ticket_id = event, ticket.id
        s.add(row)
    return len(rows)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def email_message(settings: Settings, row: OutboxMessage) -> EmailMessage:
    """The mail of an outbox row: a ticket notification, or a mail in an e-mail conversation's thread
    (payload["email"]: subject, message_id, in_reply_to, references; app/channels/email)."""
    msg = EmailMessage()
    thread = row.payload.get("email")
    msg["To"] = row.recipient
    if not thread:
        msg["From"] = settings.smtp_from
        msg["Subject"] = f"[{row.payload['ticket']['number']}] {row.payload['text'][:120]}"
        msg.set_content(f"{row.payload['text']}\n\n{row.payload['ticket']['url']}\n")
        return msg
    msg["From"] = settings.mail_address
    msg["Subject"] = thread["subject"]
    msg["Message-ID"] = thread["message_id"]
    if thread.get("in_reply_to"):
        msg["In-Reply-To"] = thread["in_reply_to"]
    if thread.get("references"):
        msg["References"] = " ".join(thread["references"])
    if thread.get("auto"):  # RFC 3834 (auto-replied | auto-generated): other robots must not answer them
        msg["Auto-Submitted"] = thread["auto"]
    msg.set_content((thread.get("body") or row.payload["text"]) + "\n")
    return msg


class Deliverer:
    """Sends one outbox row on its channel; raises on failure."""

    def __init__(self, settings: Settings,
                 senders: Mapping[str, Callable[[OutboxMessage], None]] | None = None) -> None:
        self.settings = settings
        self.http = httpx.Client(timeout=10)
        self.senders = dict(senders or {})  # more channels, e.g. slack_dm (app/channels/slack/outbound.py)

    def send(self, row: OutboxMessage) -> None:
        if row.channel in self.senders:
            self.senders[row.channel](row)
        elif row.channel == "webhook":
            body = json.dumps(row.payload, ensure_ascii=False).encode()
            headers = {"content-type": "application/json", "X-Ayuda-Event": row.event, "X-Ayuda-Delivery": row.id,
                       "X-Ayuda-Signature": sign(self.settings.webhook_secret or "", body)}
            self.http.post(row.recipient or "", content=body, headers=headers).raise_for_status()
        elif row.channel == "slack":
            self.http.post(row.recipient or "", json={"text": row.payload["text"]}).raise_for_status()
        elif row.channel == "email":
            msg = email_message(self.settings, row)
            with smtplib.SMTP(self.settings.smtp_host or "", self.settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(msg)
        else:
            raise ValueError(f"unknown channel {row.channel}")


def channel_senders(settings: Settings,
                    sessions: sessionmaker[Session]) -> dict[str, Callable[[OutboxMessage], None]]:
    """Channels delivered by the adapters in app/channels (they need the database as well as the settings)."""
    if not settings.slack_enabled:
        return {}
    from app.channels.slack.api import SlackApi
    from app.channels.slack.outbound import CHANNEL, SlackDirectMessages

    return {CHANNEL: SlackDirectMessages(sessions, SlackApi(settings)).send}


class OutboxWorker:
    """Delivers due outbox rows; safe to run in several processes (rows are claimed with a lease)."""

    LEASE = dt.timedelta(seconds=60)

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], deliverer: Deliverer | None = None) -> None:
        self.settings, self.sessions = settings, sessions
        self.deliverer = deliverer or Deliverer(settings, channel_senders(settings, sessions))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, limit: int = 50) -> int:
        """Try every due row once; returns how many were delivered."""
        delivered = 0
        with session_scope(self.sessions) as s:
            due = s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now(),
            ).order_by(OutboxMessage.created_at).limit(limit)).all()
        for row_id in due:
            with session_scope(self.sessions) as s:  # claim: push next_attempt_at forward by a lease
                claimed = rowcount(s.execute(update(OutboxMessage).where(
                    OutboxMessage.id == row_id, OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now(),
                ).values(next_attempt_at=now() + self.LEASE)))
                row = s.get(OutboxMessage, row_id) if claimed else None
                if row is not None:
                    s.expunge(row)
            if row is None:
                continue
            try:
                self.deliverer.send(row)
                error = None
            except Exception as e:  # any failure reschedules; the row is never dropped
                error = f"{type(e).__name__}: {e}"[:1000]
            with session_scope(self.sessions) as s:
                live = s.get(OutboxMessage, row_id)
                if live is None:
                    continue
                live.attempts += 1
                if error is None:
                    live.status, live.delivered_at, live.last_error = "delivered", now(), None
                    delivered += 1
                else:
                    live.last_error = error
                    if live.attempts >= self.settings.outbox_max_attempts:
                        live.status = "failed"
                        log.error("outbox %s (%s) failed for good: %s", live.id, live.channel, error)
                    else:
                        delay = min(self.settings.outbox_backoff_seconds * 2 ** (live.attempts - 1),
                                    self.settings.outbox_backoff_max_seconds)
                        live.next_attempt_at = now() + dt.timedelta(seconds=delay)
        return delivered

    def retry_failed(self) -> int:
        with session_scope(self.sessions) as s:
            return rowcount(s.execute(update(OutboxMessage).where(OutboxMessage.status == "failed").values(
                status="pending", attempts=0, next_attempt_at=now())))

    def start(self, also: list[Any] | None = None) -> None:
        """Run in a background thread; `also` are callables run each cycle (e.g. the SLA check)."""
        def loop() -> None:
            while not self._stop.wait(self.settings.outbox_poll_seconds):
                for job in [*(also or []), self.run_once]:
                    try:
                        job()
                    except Exception:
                        log.exception("background job failed; will retry next cycle")

        self._thread = threading.Thread(target=loop, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


def pending_count(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as s:
        return len(s.scalars(select(OutboxMessage.id).where(
            or_(OutboxMessage.status == "pending", OutboxMessage.status == "failed"))).all())

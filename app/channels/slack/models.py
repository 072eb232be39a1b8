"""Slack tables: accepted events and actions (idempotency, durable until handled), threads, users."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, now


class SlackEvent(Base):
    """One accepted Events API event (id = Slack's event_id) or button click (id = `action:` + its ids).

    Written before Slack gets its 200, so a retry of the same event (X-Slack-Retry-Num) finds it and is not
    handled twice, and an event whose process died is picked up again (status received/processing with an
    expired lease). The payload (which holds the message) is emptied once the event is handled."""

    __tablename__ = "slack_events"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # event | action
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)  # received|processing|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SlackThread(Base):
    """A Slack thread (channel + root ts) of one Slack user, and what it continues: a conversation (questions
    and answers) or a ticket (its updates by DM; replies are added to the ticket)."""

    __tablename__ = "slack_threads"
    __table_args__ = (UniqueConstraint("channel_id", "thread_ts", "slack_user", name="uq_slack_threads"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(String(40))
    thread_ts: Mapped[str] = mapped_column(String(40))
    slack_user: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class SlackUser(Base):
    """A Slack user known to be an Ayuda user (by e-mail): refreshed from users.info after a while; ticket
    updates of `user_id` go to this Slack user as DMs."""

    __tablename__ = "slack_users"

    slack_user: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    dm_channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)

"""Persistence of Slack threads and users (the event rows are handled in intake.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.slack.models import SlackThread, SlackUser, now
from app.chat.models import Conversation
from app.db import session_scope

CHANNEL = "slack"  # conversations.channel of conversations started in Slack


def slack_user_of(s: Session, user_id: str) -> str | None:
    """The Slack user of an Ayuda user (most recently seen), for ticket-update DMs; None when unknown."""
    return s.scalars(select(SlackUser.slack_user).where(SlackUser.user_id == user_id)
                     .order_by(SlackUser.updated_at.desc())).first()


class SlackStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # --- users ------------------------------------------------------------------------------------
    def known_user(self, slack_user: str, max_age: dt.timedelta) -> str | None:
        with session_scope(self.sessions) as s:
            row = s.get(SlackUser, slack_user)
            if row is None:
                return None
            seen = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=dt.UTC)
            return row.user_id if now() - seen <= max_age else None

    def remember_user(self, slack_user: str, user_id: str) -> None:
        with session_scope(self.sessions) as s:
            row = s.get(SlackUser, slack_user)
            if row is None:
                s.add(SlackUser(slack_user=slack_user, user_id=user_id))
            else:
                row.user_id, row.updated_at = user_id, now()

    def forget_user(self, slack_user: str) -> None:
        with session_scope(self.sessions) as s:
            s.execute(delete(SlackUser).where(SlackUser.slack_user == slack_user))

    def conversation_owner(self, conversation_id: str) -> str | None:
        with session_scope(self.sessions) as s:
            conv = s.get(Conversation, conversation_id)
            return conv.user_id if conv is not None else None

    # --- threads ----------------------------------------------------------------------------------
    def thread(self, channel: str, thread_ts: str, slack_user: str) -> SlackThread | None:
        with session_scope(self.sessions) as s:
            return s.scalars(select(SlackThread).where(
                SlackThread.channel_id == channel, SlackThread.thread_ts == thread_ts,
                SlackThread.slack_user == slack_user)).first()

    def ticket_thread(self, ticket_id: str, channel: str) -> SlackThread | None:
        with session_scope(self.sessions) as s:
            return s.scalars(select(SlackThread).where(SlackThread.ticket_id == ticket_id,
                                                       SlackThread.channel_id == channel)
                             .order_by(SlackThread.created_at)).first()

    def link(self, channel: str, thread_ts: str, slack_user: str, user_id: str, *,
             conversation_id: str | None = None, ticket_id: str | None = None) -> None:
        """Map a thread to a conversation or a ticket (an existing mapping of the same thread is replaced)."""
        with session_scope(self.sessions) as s:
            s.execute(delete(SlackThread).where(SlackThread.channel_id == channel,
                                                SlackThread.thread_ts == thread_ts,
                                                SlackThread.slack_user == slack_user))
            s.add(SlackThread(channel_id=channel, thread_ts=thread_ts, slack_user=slack_user, user_id=user_id,
                              conversation_id=conversation_id, ticket_id=ticket_id))

    def unlink(self, channel: str, thread_ts: str, slack_user: str) -> None:
        with session_scope(self.sessions) as s:
            s.execute(delete(SlackThread).where(SlackThread.channel_id == channel,
                                                SlackThread.thread_ts == thread_ts,
                                                SlackThread.slack_user == slack_user))

    def start_conversation(self, user_id: str, channel: str, thread_ts: str, slack_user: str) -> str:
        """A new conversation (channel "slack") continued by this thread; returns its id. Two deliveries of one
        thread's first message at once: the second finds the first's mapping."""
        try:
            with session_scope(self.sessions) as s:
                conv = Conversation(user_id=user_id, language="en", channel=CHANNEL)
                s.add(conv)
                s.flush()
                s.add(SlackThread(channel_id=channel, thread_ts=thread_ts, slack_user=slack_user, user_id=user_id,
                                  conversation_id=conv.id))
                return conv.id
        except IntegrityError:
            existing = self.thread(channel, thread_ts, slack_user)
            if existing is None or existing.conversation_id is None:
                raise
            return existing.conversation_id

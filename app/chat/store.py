"""Persistence of conversations and messages."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.chat.models import Conversation, Message
from app.db import session_scope
from app.errors import Conflict, NotFound

TURN_WAIT_SECONDS = 60  # how long a turn waits for the previous turn of its conversation before a 409


class KeyedLocks:
    """An in-process lock per key (conversation id), forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        acquired = lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.locks = KeyedLocks()

    @property
    def dialect(self) -> str:
        return str(self.sessions.kw["bind"].dialect.name)

    @contextmanager
    def turn_lock(self, conversation_id: str, timeout: float = TURN_WAIT_SECONDS) -> Iterator[None]:
        """Run the turns of one conversation one after the other (question, answer, question, answer).

        In the process: a lock per conversation. On PostgreSQL also a transaction-scoped advisory lock on the
        conversation id, so turns on different replicas serialize too (an advisory lock, not a row lock: the
        turn's own short transactions update the conversation row and must not wait for themselves)."""
        busy = Conflict("another message in this conversation is still being answered; retry in a moment",
                        code="conversation_busy", retry_after=2)
        with self.locks.hold(conversation_id, timeout) as acquired:
            if not acquired:
                raise busy
            if self.dialect != "postgresql":
                yield
                return
            with self.sessions() as s, s.begin():
                s.execute(text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
                try:
                    s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:id, 0))"), {"id": conversation_id})
                except OperationalError as e:
                    raise busy from e
                yield

    def get_or_create(self, user_id: str, conversation_id: str | None, language: str) -> Conversation:
        with session_scope(self.sessions) as s:
            if conversation_id:
                conv = s.get(Conversation, conversation_id)
                if conv is None or conv.user_id != user_id:
                    raise NotFound(f"conversation {conversation_id} does not exist; omit conversation_id to start one")
                return conv
            conv = Conversation(user_id=user_id, language=language)
            s.add(conv)
            return conv

    def add_exchange(self, user_id: str, language: str, question: dict[str, Any], reply: dict[str, Any]) -> Message:
        """A new conversation with its question and answer in one transaction (an answer known at once: the
        question can't be lost between the two). Returns the answer."""
        with session_scope(self.sessions) as s:
            conv = Conversation(user_id=user_id, language=language)
            s.add(conv)
            s.flush()
            s.add(Message(conversation_id=conv.id, seq=1, role="user", language=language, **question))
            msg = Message(conversation_id=conv.id, seq=2, role="assistant", language=language, **reply)
            s.add(msg)
        return msg

    def history(self, conversation_id: str, limit: int = 10) -> list[Message]:
        with session_scope(self.sessions) as s:
            rows = s.scalars(
                select(Message).where(Message.conversation_id == conversation_id)
                .order_by(Message.seq.desc()).limit(limit)
            ).all()
            return list(reversed(rows))

    def escalation_reasons(self, conversation_id: str) -> set[str]:
        """Why any reply of the conversation escalated, over its whole length (not only the recent history)."""
        with session_scope(self.sessions) as s:
            rows = s.scalars(select(Message.retrieval).where(Message.conversation_id == conversation_id,
                                                             Message.outcome == "escalated")).all()
            return {str(r.get("reason")) for r in rows if r and r.get("reason")}

    def add_message(self, conversation_id: str, role: str, content: str, language: str, **fields: Any) -> Message:
        """Append a message (its own transaction, so an accepted question is stored before any answering).

        The conversation row is locked before the next `seq` is read: SELECT … FOR UPDATE on PostgreSQL; on
        SQLite the UPDATE is the transaction's first write, which takes the database write lock (waiting up to
        busy_timeout). A clash that still happens (another process on an old version) is retried."""
        for attempt in range(3):
            try:
                with session_scope(self.sessions) as s:
                    s.execute(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update())
                    s.execute(update(Conversation).where(Conversation.id == conversation_id)
                              .values(language=language, updated_at=dt.datetime.now(dt.UTC)))
                    seq = s.scalar(select(func.coalesce(func.max(Message.seq), 0)).where(
                        Message.conversation_id == conversation_id)) or 0
                    msg = Message(conversation_id=conversation_id, seq=seq + 1, role=role, content=content,
                                  language=language, **fields)
                    s.add(msg)
                return msg
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def message(self, message_id: str) -> Message | None:
        with session_scope(self.sessions) as s:
            return s.get(Message, message_id)

    def update_message(self, message_id: str, **fields: Any) -> None:
        with session_scope(self.sessions) as s:
            msg = s.get(Message, message_id)
            if msg is not None:
                for key, value in fields.items():
                    setattr(msg, key, value)

    def feedback(self, user_id: str, message_id: str, helpful: bool, comment: str | None) -> Message:
        with session_scope(self.sessions) as s:
            msg = s.get(Message, message_id)
            if msg is None or msg.role != "assistant" or msg.conversation.user_id != user_id:
                raise NotFound(f"message {message_id} does not exist or is not an answer of yours")
            msg.helpful, msg.feedback_comment = helpful, comment
            return msg

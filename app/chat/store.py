"""Persistence of conversations and messages."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.chat.models import Conversation, Message
from app.db import new_id, now, session_scope
from app.errors import Conflict, NotFound

TURN_WAIT_SECONDS = 60  # how long a turn waits for the previous turn of its conversation before a 409


MESSAGE_FIELDS = tuple(c.key for c in Message.__table__.columns)
# A turn's statements, built once: building one costs about as much as running it on SQLite
NEW_CONVERSATION = insert(Conversation)
NEW_MESSAGES = insert(Message)
LOCK_CONVERSATION = select(Conversation.id).where(Conversation.id == bindparam("conv_id")).with_for_update()
TOUCH_CONVERSATION = update(Conversation).where(Conversation.id == bindparam("conv_id")).values(
    language=bindparam("lang"), updated_at=bindparam("at"))
LAST_SEQ = select(func.coalesce(func.max(Message.seq), 0)).where(Message.conversation_id == bindparam("conv_id"))


def message_row(fields: dict[str, Any], conversation_id: str, seq: int, language: str,
                at: dt.datetime) -> dict[str, Any]:
    """Every column of a new message (one executemany needs the same keys in every row)."""
    row = dict.fromkeys(MESSAGE_FIELDS) | {"id": new_id(), "created_at": at, "language": language} | fields
    return row | {"conversation_id": conversation_id, "seq": seq}


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

    def owned(self, user_id: str, conversation_id: str) -> Conversation:
        """The employee's own conversation (NotFound for another's or an unknown id)."""
        with session_scope(self.sessions) as s:
            conv = s.get(Conversation, conversation_id)
            if conv is None or conv.user_id != user_id:
                raise NotFound(f"conversation {conversation_id} does not exist; omit conversation_id to start one")
            return conv

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

    def save_turn(self, user_id: str | None, conversation_id: str | None, language: str,
                  messages: list[dict[str, Any]], also: Callable[[Session, Message], None] | None = None) -> Message:
        """Append a turn's messages in one transaction (one fsync, not one per message), in a new conversation of
        `user_id` when `conversation_id` is None. `also(session, last_message)` writes in the same transaction (the
        idempotency key's completion). Returns the last message (not attached to a session).

        The rows are written with statements built once, on the session's connection, not through the ORM's unit
        of work: a turn's write took 1.4 CPU ms that way on a Zen 4, and takes 0.5 now.
        The conversation row is locked before the next `seq` is read: SELECT … FOR UPDATE on PostgreSQL; on
        SQLite the UPDATE is the transaction's first write, which takes the process's write turn (app/db.py) and
        then the database write lock (another process's writer waits up to busy_timeout). A clash that still happens (another process on an old version) is retried."""
        for attempt in range(3):
            try:
                with session_scope(self.sessions) as s:
                    db, at = s.connection(), now()  # Core on the session's connection
                    if conversation_id is None:
                        conv_id, seq = new_id(), 0
                        db.execute(NEW_CONVERSATION, {"id": conv_id, "user_id": user_id, "language": language,
                                                      "created_at": at, "updated_at": at})
                    else:
                        conv_id = conversation_id
                        db.execute(LOCK_CONVERSATION, {"conv_id": conv_id})
                        db.execute(TOUCH_CONVERSATION, {"conv_id": conv_id, "lang": language, "at": at})
                        seq = db.execute(LAST_SEQ, {"conv_id": conv_id}).scalar() or 0
                    rows = [message_row(m, conv_id, seq + i, language, at) for i, m in enumerate(messages, 1)]
                    db.execute(NEW_MESSAGES, rows)
                    last = Message(**rows[-1])
                    if also is not None:
                        also(s, last)
                return last
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

"""Idempotency-Key for chat turns: one row per (user, key) in the database, claimed before the turn runs.

Of N concurrent requests with one key, exactly one inserts the row (the primary key decides, on SQLite and
PostgreSQL) and runs the turn; the others wait for its answer and return the same one. A request that still
finds the key unanswered after `wait_seconds` gets 409 idempotency_in_progress (retry). The same key with a
different message / conversation / language gets 409 idempotency_key_reused: the new message is not dropped
silently, the client is told to send it with a new key. A claim whose turn failed is released. A claim left by a
process that died is taken over as soon as `alive(owner)` says so (app/jobs/builds.py: the same host's process
is gone, or another host's replica stopped reporting), else after `stale_seconds`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.chat.models import IdempotencyKey
from app.db import session_scope
from app.errors import Conflict


def request_hash(message: str, conversation_id: str | None, language: str | None) -> str:
    return hashlib.sha256(json.dumps([message, conversation_id, language]).encode()).hexdigest()


class IdempotencyKeys:
    def __init__(self, sessions: sessionmaker[Session], wait_seconds: float = 60.0, stale_seconds: float = 300.0,
                 poll_seconds: float = 0.1, owner: str | None = None,
                 alive: Callable[[str], bool] | None = None) -> None:
        self.sessions, self.owner, self.alive = sessions, owner, alive
        self.wait_seconds, self.stale_seconds, self.poll_seconds = wait_seconds, stale_seconds, poll_seconds

    def begin(self, user_id: str, key: str, fingerprint: str) -> IdempotencyKey | None:
        """None: this request now owns the key (run the turn, then `complete` or `release`).
        Otherwise the completed row, whose answer is the reply to this request."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            row = self._claim(user_id, key, fingerprint)
            if row is None:
                return None
            if row.request_hash != fingerprint:
                raise Conflict(f"Idempotency-Key {key!r} was already used for a different message; send a new "
                               "message with a new key", code="idempotency_key_reused")
            if row.message_id:
                return row
            if self._stale(row) or self._orphaned(row):
                self._take_over(row)
                continue
            if time.monotonic() > deadline:
                raise Conflict(f"the request with Idempotency-Key {key!r} is still being answered; retry in a few "
                               "seconds", code="idempotency_in_progress", retry_after=2)
            time.sleep(self.poll_seconds)

    def complete(self, user_id: str, key: str, conversation_id: str, message_id: str,
                 session: Session | None = None) -> None:
        """The turn's answer is stored: retries get it. With `session`, in that transaction (the answer's own)."""
        if session is None:
            with session_scope(self.sessions) as s:
                self.complete(user_id, key, conversation_id, message_id, s)
            return
        session.execute(update(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
                        .values(conversation_id=conversation_id, message_id=message_id))

    def release(self, user_id: str, key: str) -> None:
        """The turn failed: forget the claim so a retry runs it again."""
        with session_scope(self.sessions) as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                                                   IdempotencyKey.message_id.is_(None)))

    def _claim(self, user_id: str, key: str, fingerprint: str) -> IdempotencyKey | None:
        try:
            with session_scope(self.sessions) as s:
                s.add(IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint, owner=self.owner))
            return None
        except IntegrityError:
            with session_scope(self.sessions) as s:
                row = s.get(IdempotencyKey, (user_id, key))
            # released between our insert and this read: claim again
            return row if row is not None else self._claim(user_id, key, fingerprint)

    def _stale(self, row: IdempotencyKey) -> bool:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        return (dt.datetime.now(dt.UTC) - created).total_seconds() > self.stale_seconds

    def _orphaned(self, row: IdempotencyKey) -> bool:
        return bool(row.owner and self.alive is not None and not self.alive(row.owner))

    def _take_over(self, row: IdempotencyKey) -> None:
        with session_scope(self.sessions) as s:
            s.execute(delete(IdempotencyKey).where(
                IdempotencyKey.user_id == row.user_id, IdempotencyKey.key == row.key,
                IdempotencyKey.message_id.is_(None), IdempotencyKey.created_at == row.created_at))

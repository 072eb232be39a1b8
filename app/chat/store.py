"""Persistence of conversations and messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.chat.models import Conversation, Message
from app.db import session_scope
from app.errors import NotFound


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

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

    def history(self, conversation_id: str, limit: int = 10) -> list[Message]:
        with session_scope(self.sessions) as s:
            rows = s.scalars(
                select(Message).where(Message.conversation_id == conversation_id)
                .order_by(Message.seq.desc()).limit(limit)
            ).all()
            return list(reversed(rows))

    def add_message(self, conversation_id: str, role: str, content: str, language: str, **fields: Any) -> Message:
        """Append a message (its own transaction, so an accepted question is stored before any answering)."""
        with session_scope(self.sessions) as s:
            seq = s.scalar(select(func.coalesce(func.max(Message.seq), 0)).where(
                Message.conversation_id == conversation_id)) or 0
            msg = Message(conversation_id=conversation_id, seq=seq + 1, role=role, content=content,
                          language=language, **fields)
            s.add(msg)
            conv = s.get(Conversation, conversation_id)
            if conv is not None:
                conv.language = language
                conv.updated_at = dt.datetime.now(dt.UTC)
            return msg

    def replay(self, user_id: str, idempotency_key: str) -> tuple[str, Message] | None:
        """The stored reply to the user's earlier request with this idempotency key, if it completed."""
        with session_scope(self.sessions) as s:
            question = s.scalars(select(Message).join(Conversation).where(
                Conversation.user_id == user_id, Message.idempotency_key == idempotency_key,
                Message.role == "user")).first()
            if question is None:
                return None
            reply = s.scalars(select(Message).where(
                Message.conversation_id == question.conversation_id, Message.seq == question.seq + 1,
                Message.role == "assistant")).first()
            return (question.conversation_id, reply) if reply is not None else None

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

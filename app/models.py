"""Every ORM model, imported in one place so Alembic and create_all see all tables."""

from app.chat.models import Conversation, Message

__all__ = ["Conversation", "Message"]

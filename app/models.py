"""Every ORM model, imported in one place so Alembic and create_all see all tables."""

from app.channels.email.models import MailThread, ProcessedMail, TicketAttachment
from app.chat.models import Conversation, IdempotencyKey, Message
from app.escalation.models import OutboxMessage, QueueCounter, Ticket, TicketEvent
from app.privacy.models import AuditEvent

__all__ = ["AuditEvent", "Conversation", "IdempotencyKey", "MailThread", "Message", "OutboxMessage", "ProcessedMail",
           "QueueCounter", "Ticket", "TicketAttachment", "TicketEvent"]

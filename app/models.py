"""Every ORM model, imported in one place so Alembic and create_all see all tables."""

from app.channels.email.models import MailThread, ProcessedMail, TicketAttachment
from app.channels.slack.models import SlackEvent, SlackThread, SlackUser
from app.chat.models import Conversation, IdempotencyKey, Message
from app.escalation.models import OutboxMessage, QueueCounter, Ticket, TicketEvent
from app.jobs.models import IndexBuild, IndexJob, Replica
from app.privacy.models import AuditEvent

__all__ = ["AuditEvent", "Conversation", "IdempotencyKey", "IndexBuild", "IndexJob", "MailThread", "Message",
           "OutboxMessage", "ProcessedMail", "QueueCounter", "Replica", "SlackEvent", "SlackThread", "SlackUser",
           "Ticket", "TicketAttachment", "TicketEvent"]

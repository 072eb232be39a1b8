"""E-mail tables: which mails were handled (idempotency), which Message-IDs belong to which conversation or
ticket (threading both ways), and the files employees attached to a ticket."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, now


class ProcessedMail(Base):
    """One row per inbound mail handled, written in the transaction that stores its outcome: a mail with a row
    is never handled again, even when the poller restarts before it could flag the mail on the server."""

    __tablename__ = "mail_processed"

    message_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    sender: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), index=True)  # answered | ticket | ticket_reply | ignored | limited
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class MailThread(Base):
    """A Message-ID we received or sent, and the conversation (and ticket) it belongs to: a reply's
    In-Reply-To/References find its conversation here; our replies' References are built from it."""

    __tablename__ = "mail_threads"

    message_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(36), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    subject: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class TicketAttachment(Base):
    """A file an employee attached to a mail that landed on a ticket (size-limited by
    AYUDA_MAIL_MAX_ATTACHMENT_BYTES)."""

    __tablename__ = "ticket_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)

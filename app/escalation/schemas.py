"""Ticket API shapes: the employee view (public events only) and the agent view (everything)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.escalation.models import Ticket, TicketEvent
from app.escalation.service import aware
from app.validation import UserText

Status = Literal["new", "open", "pending", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]


class EventOut(BaseModel):
    seq: int
    kind: str
    actor: str
    public: bool
    body: str | None
    data: dict[str, Any]
    created_at: dt.datetime

    @classmethod
    def of(cls, e: TicketEvent) -> EventOut:
        return cls(seq=e.seq, kind=e.kind, actor=e.actor, public=e.public, body=e.body, data=e.data or {},
                   created_at=aware(e.created_at))  # type: ignore[arg-type]


class TicketOut(BaseModel):
    id: str
    number: str
    queue: str
    priority: str
    confidential: bool
    status: str
    subject: str
    language: str
    requester: str
    assignee: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_due: dt.datetime
    resolution_due: dt.datetime
    sla_breached: bool
    csat_score: int | None
    channel: str = Field("web", description="Where the request came from: web | slack | email.")

    @classmethod
    def of(cls, t: Ticket, breached: bool) -> TicketOut:
        return cls(id=t.id, number=t.number, queue=t.queue, priority=t.priority, confidential=t.confidential,
                   status=t.status, subject=t.subject, language=t.language, requester=t.requester,
                   assignee=t.assignee, created_at=aware(t.created_at), updated_at=aware(t.updated_at),  # type: ignore[arg-type]
                   first_response_due=aware(t.first_response_due),  # type: ignore[arg-type]
                   resolution_due=aware(t.resolution_due), sla_breached=breached,  # type: ignore[arg-type]
                   csat_score=t.csat_score, channel=t.channel or "web")


class TicketDetailOut(TicketOut):
    events: list[EventOut]


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime


class AgentTicketOut(TicketDetailOut):
    reason: str
    confidence: float | None
    conversation_id: str | None
    transcript: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    draft: str | None
    csat_comment: str | None
    faq_path: str | None
    attachments: list[AttachmentOut] = Field(default_factory=list, description="Files the employee attached "
                                             "to their mails (GET …/attachments/{id} downloads one).")


class MessageIn(BaseModel):
    body: UserText = Field(..., min_length=1, max_length=8000)


class CsatIn(BaseModel):
    score: int = Field(..., ge=1, le=5, description="1 (bad) to 5 (great).")
    comment: UserText | None = Field(None, max_length=2000)


class AssignIn(BaseModel):
    assignee: str | None = Field(None, max_length=200, pattern=r"^[\w.@+-]+$",
                                 description="Agent id; omit to claim it yourself.")


class StatusIn(BaseModel):
    status: Status
    reason: UserText | None = Field(None, max_length=2000)


class FaqIn(BaseModel):
    title: UserText | None = Field(None, max_length=200, description="Article title (default: the ticket subject).")
    body: UserText | None = Field(None, max_length=20000, description="Article text (default: the last agent reply).")


class FaqOut(BaseModel):
    path: str
    status: Literal["draft", "published"]
    content: str
    build_id: str | None = None
    job_id: str | None = Field(None, description="The re-index job that indexes a published article: poll "
                               "GET /api/v1/admin/reindex/{job_id} (admins) or ask once it is done.")

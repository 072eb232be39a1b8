"""Response shapes of the admin API (documented in OpenAPI for the admin page)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PeriodOut(BaseModel):
    from_: str = Field(..., alias="from", description="First date (UTC), inclusive.")
    to: str = Field(..., description="Last date (UTC), today.")
    days: int


class DayOut(BaseModel):
    date: str
    conversations: int = Field(..., description="Conversations with a user message that day.")
    questions: int = Field(..., description="User messages whose reply was not small talk.")


class DeflectionOut(BaseModel):
    answered: int = Field(..., description="Turns answered by the bot (answered, answered_offer_human).")
    confirmed: int
    durable: int
    unknown: int
    definitions: dict[str, str]


class QueueEscalationOut(BaseModel):
    queue: str
    name: str
    tickets: int
    share_of_questions: float = Field(..., description="Tickets opened in the queue / questions in the period.")


class SlaPartOut(BaseModel):
    met: int
    breached: int
    open: int = Field(..., description="Not done yet and not yet due.")
    median_hours: float | None = Field(..., description="Wall-clock hours from creation, of the tickets done.")


class SlaOut(BaseModel):
    queue: str
    tickets: int
    first_response: SlaPartOut
    resolution: SlaPartOut


class BotCsatOut(BaseModel):
    helpful: int
    not_helpful: int
    rate: float | None


class HumanCsatOut(BaseModel):
    count: int
    average: float | None


class CsatOut(BaseModel):
    bot: BotCsatOut
    human: HumanCsatOut


class NegativeFeedbackOut(BaseModel):
    message_id: str
    question: str
    answer: str
    comment: str | None
    language: str
    created_at: str


class ContentGapOut(BaseModel):
    id: str = Field(..., description="Pass it to POST /api/v1/admin/content-gaps/{id}/draft with the same days.")
    label: str
    count: int
    examples: list[str]
    languages: list[str]
    queue: str | None


class ChannelOut(BaseModel):
    channel: str = Field(..., description="web | slack | email (any channel a conversation came from).")
    conversations: int
    questions: int = Field(..., description="Turns whose reply was not small talk or off-topic.")
    answered: int = Field(..., description="Turns answered by the bot (answered, answered_offer_human).")
    escalated: int
    tickets: int = Field(..., description="Tickets opened in the period from this channel's conversations.")
    answered_share: float = Field(..., description="answered / questions.")


class AnalyticsOut(BaseModel):
    period: PeriodOut
    conversations_per_day: list[DayOut]
    outcomes: dict[str, int]
    channels: list[ChannelOut] = Field(..., description="Split by intake channel.")
    deflection: DeflectionOut
    escalation_by_queue: list[QueueEscalationOut]
    sla: list[SlaOut]
    csat: CsatOut
    negative_feedback: list[NegativeFeedbackOut]
    content_gaps: list[ContentGapOut]


class DraftOut(BaseModel):
    path: str
    content: str


class ReindexIn(BaseModel):
    full: bool = Field(False, description="Re-embed every document instead of only the changed ones.")


class ProgressOut(BaseModel):
    done: int = Field(..., description="Chunks embedded so far.")
    total: int = Field(..., description="Chunks to embed (0 until the corpus is read, or when nothing changed).")


class ReindexJobOut(BaseModel):
    job_id: str
    status: str = Field(..., description="queued | running | done | failed")
    full: bool
    progress: ProgressOut
    build_id: str | None
    report: dict[str, Any] | None
    error: str | None
    started_at: str
    finished_at: str | None

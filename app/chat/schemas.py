"""Request and response shapes of the chat API (also the `--json` output of the CLI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.validation import UserText

Language = Literal["en", "es", "pt"]
Outcome = Literal["answered", "answered_offer_human", "escalated", "clarify", "smalltalk", "declined", "off_topic",
                  "not_ready"]


class ChatRequest(BaseModel):
    message: UserText = Field(..., min_length=1, max_length=4000, description="The employee's message (control "
                              "characters removed, then stripped; blank after that is 'must not be empty').")
    conversation_id: str | None = Field(None, max_length=36, pattern=r"^[\w-]+$",
                                        description="Continue this conversation.")
    language: Language | None = Field(None, description="Force the reply language (default: detected).")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    section: str
    url: str
    snippet: str
    language: str


class TicketRef(BaseModel):
    id: str
    number: str
    queue: str
    status: str


class ChatResponse(BaseModel):
    conversation_id: str
    message_id: str
    answer: str
    language: Language
    citations: list[CitationOut]
    confidence: float = Field(..., ge=0, le=1)
    outcome: Outcome
    ticket: TicketRef | None = None
    next_steps: str | None = None
    stored: bool = Field(True, description="False when the database was unreachable: the answer comes from the "
                         "index alone and the turn is not kept (no history, no feedback).")


class FeedbackRequest(BaseModel):
    helpful: bool
    comment: UserText | None = Field(None, max_length=2000)


class SearchHitOut(BaseModel):
    doc_id: str
    title: str
    section: str
    url: str
    language: str
    department: str
    score: float
    dense: float | None
    bm25: float | None
    snippet: str


class SearchResponse(BaseModel):
    query: str
    language: Language
    build_id: str
    hits: list[SearchHitOut]

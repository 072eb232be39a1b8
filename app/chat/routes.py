"""Chat and search HTTP routes: parse → call the service → shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from app.chat.schemas import (
    ChatRequest,
    ChatResponse,
    CitationOut,
    FeedbackRequest,
    SearchHitOut,
    SearchResponse,
)
from app.chat.service import TurnResult
from app.deps import ChatDep, CurrentUser, ServicesDep
from app.errors import ERROR_RESPONSES, NotReady
from app.limits import ChatRateLimit
from app.retrieval import IndexNotFound
from app.retrieval.language import LANGUAGES

router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERROR_RESPONSES)


def to_response(result: TurnResult) -> ChatResponse:
    return ChatResponse(
        conversation_id=result.conversation_id,
        message_id=result.message_id,
        answer=result.answer,
        language=result.language,  # type: ignore[arg-type]
        citations=[CitationOut(**c.__dict__) for c in result.citations],
        confidence=round(result.confidence, 4),
        outcome=result.outcome,  # type: ignore[arg-type]
        ticket=result.ticket,  # type: ignore[arg-type]
        next_steps=result.next_steps,
    )


@router.post("/chat", response_model=ChatResponse, dependencies=[ChatRateLimit])
def chat(
    body: ChatRequest, user: CurrentUser, service: ChatDep, request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=100, description="Retries with the same key get "
                                                  "the same answer and the same ticket.")] = None,
) -> ChatResponse:
    """Ask a question; get a cited answer in your language, a clarifying question, or an escalation (ticket)."""
    metrics = request.app.state.metrics
    with metrics.latency.time():
        result = service.turn(user, body.message, body.conversation_id, body.language, idempotency_key)
    metrics.turns.labels(result.outcome, result.language).inc()
    if result.ticket:
        metrics.tickets.labels(result.ticket["queue"]).inc()
    return to_response(result)


@router.post("/messages/{message_id}/feedback", status_code=204)
def feedback(message_id: str, body: FeedbackRequest, user: CurrentUser, service: ChatDep) -> None:
    """Say whether an answer helped (👍/👎, optional comment)."""
    service.store.feedback(user.id, message_id, body.helpful, body.comment)


@router.get("/search", response_model=SearchResponse)
def search(
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=4000, description="The search text.")],
    k: Annotated[int, Query(ge=1, le=50, description="How many results.")] = 10,
) -> SearchResponse:
    """Ranked document sections the caller may see (the same hybrid retrieval the chat uses)."""
    if services.searcher is None:
        raise NotReady(services.model_error or "the embedding model is not loaded")
    lang, _ = services.searcher.detect_language(q)
    lang = lang if lang in LANGUAGES else "en"
    try:
        result = services.searcher.search(q, language=lang, groups=user.visible_groups, k=k)
    except IndexNotFound as e:
        raise NotReady(str(e)) from e
    from app.chat.composer import snippet

    hits = [
        SearchHitOut(doc_id=h.chunk.doc_id, title=h.chunk.title, section=h.chunk.section, url=h.chunk.link(),
                     language=h.chunk.language, department=h.chunk.department, score=round(h.score, 6),
                     dense=None if h.dense is None else round(h.dense, 4),
                     bm25=None if h.bm25 is None else round(h.bm25, 4), snippet=snippet(h.chunk.text))
        for h in result.hits
    ]
    return SearchResponse(query=q, language=lang, build_id=result.build_id, hits=hits)  # type: ignore[arg-type]

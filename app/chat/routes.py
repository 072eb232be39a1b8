"""Chat and search HTTP routes: parse → call the service → shape the response."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, JSONServerSentEvent

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
from app.errors import ERROR_RESPONSES, AyudaError, NotReady
from app.limits import ChatRateLimit
from app.metrics import count
from app.retrieval import IndexNotFound
from app.retrieval.language import LANGUAGES

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERROR_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(max_length=100, description="Retries with the same key get the same "
                                              "answer and the same ticket.")]


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
        stored=result.stored,
    )


@router.post("/chat", response_model=ChatResponse, dependencies=[ChatRateLimit])
def chat(body: ChatRequest, user: CurrentUser, service: ChatDep, request: Request,
         idempotency_key: IdempotencyKey = None) -> ChatResponse:
    """Ask a question; get a cited answer in your language, a clarifying question, or an escalation (ticket)."""
    metrics = request.app.state.metrics
    with metrics.latency.time():
        result = service.turn(user, body.message, body.conversation_id, body.language, idempotency_key)
    count(metrics, result)
    return to_response(result)


_END = object()


@router.post("/chat/stream", dependencies=[ChatRateLimit], response_class=EventSourceResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events: `citations` "
                              "(the quoted draft's), `token` (generated text as it arrives, when an LLM is "
                              "configured), then `final` (the object POST /api/v1/chat returns) or `error`."}})
def chat_stream(body: ChatRequest, user: CurrentUser, service: ChatDep, request: Request,
                idempotency_key: IdempotencyKey = None) -> EventSourceResponse:
    """The same turn as POST /api/v1/chat, streamed. Errors found before the first event (bad input, conversation
    not found, not ready) are plain JSON errors with their status, as on /chat. The turn runs to the end even if
    the client goes away: the answer is stored, and a retry with the same idempotency key gets it."""
    events: queue.Queue[Any] = queue.Queue()
    metrics = request.app.state.metrics
    slot = getattr(request.state, "chat_slot", None)  # the load shedder's place: freed when the turn ends
    if slot is not None:
        slot.handed_off = True

    def work() -> None:
        try:
            with metrics.latency.time():
                result = service.turn(user, body.message, body.conversation_id, body.language, idempotency_key,
                                      emit=lambda kind, data: events.put(JSONServerSentEvent(data, event=kind)))
            count(metrics, result)
            events.put(JSONServerSentEvent(to_response(result).model_dump(mode="json"), event="final"))
        except AyudaError as e:
            events.put(e)
        except Exception:
            log.exception("streamed chat turn failed")
            events.put(AyudaError("the answer failed; retry with the same Idempotency-Key"))
        finally:
            if slot is not None:
                slot.release()
            events.put(_END)

    threading.Thread(target=work, name="chat-stream", daemon=True).start()
    first = events.get()
    if isinstance(first, AyudaError):
        raise first  # before anything was sent: a normal JSON error

    def stream() -> Iterator[JSONServerSentEvent]:
        item = first
        while item is not _END:
            if isinstance(item, AyudaError):
                yield JSONServerSentEvent({"error": {"code": item.code, "message": item.message}}, event="error")
            else:
                yield item
            item = events.get()

    return EventSourceResponse(stream(), ping=10)


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

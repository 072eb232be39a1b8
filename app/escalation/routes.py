"""Ticket routes for employees (/api/v1/tickets) and agents (/api/v1/agent/tickets)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from app.deps import CurrentAgent, CurrentUser, ServicesDep
from app.errors import ERROR_RESPONSES
from app.escalation.schemas import (
    AgentTicketOut,
    AssignIn,
    AttachmentOut,
    CsatIn,
    EventOut,
    FaqIn,
    FaqOut,
    MessageIn,
    Priority,
    Status,
    StatusIn,
    TicketDetailOut,
    TicketOut,
)
from app.escalation.service import aware
from app.limits import TicketRateLimit
from app.privacy.access import agent_view

router = APIRouter(prefix="/api/v1", tags=["tickets"], responses=ERROR_RESPONSES | {
    403: ERROR_RESPONSES[400] | {"description": "Forbidden"}, 409: ERROR_RESPONSES[400] | {"description": "Conflict"}})


def _detail(services, user, ticket_id: str) -> TicketDetailOut:  # type: ignore[no-untyped-def]
    tickets = services.tickets
    ticket, events = tickets.my_ticket(user, ticket_id)
    return TicketDetailOut(**TicketOut.of(ticket, tickets.breached(ticket)).model_dump(),
                           events=[EventOut.of(e) for e in events])


def _agent_detail(services, user, ticket_id: str) -> AgentTicketOut:  # type: ignore[no-untyped-def]
    tickets = services.tickets
    t, events = tickets.agent_ticket(user, ticket_id)
    transcript, sources, draft = agent_view(t.transcript, t.sources, t.draft, user.visible_groups,
                                            services.doc_audience)
    return AgentTicketOut(**TicketOut.of(t, tickets.breached(t)).model_dump(), events=[EventOut.of(e) for e in events],
                          reason=t.reason, confidence=t.confidence, conversation_id=t.conversation_id,
                          transcript=transcript, sources=sources, draft=draft, csat_comment=t.csat_comment,
                          faq_path=t.faq_path,
                          attachments=[AttachmentOut(id=a.id, filename=a.filename, content_type=a.content_type,
                                                     size=a.size, created_at=aware(a.created_at))  # type: ignore[arg-type]
                                       for a in tickets.attachments(user, ticket_id)])


# --- employees ---------------------------------------------------------------------------------
@router.get("/tickets", response_model=list[TicketOut])
def my_tickets(user: CurrentUser, services: ServicesDep) -> list[TicketOut]:
    """Your tickets, newest first."""
    return [TicketOut.of(t, services.tickets.breached(t)) for t in services.tickets.my_tickets(user)]


@router.get("/tickets/{ticket_id}", response_model=TicketDetailOut)
def my_ticket(ticket_id: str, user: CurrentUser, services: ServicesDep) -> TicketDetailOut:
    """One of your tickets with its public messages and status changes (never internal notes)."""
    return _detail(services, user, ticket_id)


@router.post("/tickets/{ticket_id}/messages", response_model=TicketDetailOut, dependencies=[TicketRateLimit])
def add_message(ticket_id: str, body: MessageIn, user: CurrentUser, services: ServicesDep) -> TicketDetailOut:
    """Add a message to your ticket (reopens it if it was waiting for you or resolved)."""
    services.tickets.employee_message(user, ticket_id, body.body)
    return _detail(services, user, ticket_id)


@router.post("/tickets/{ticket_id}/csat", response_model=TicketDetailOut, dependencies=[TicketRateLimit])
def rate(ticket_id: str, body: CsatIn, user: CurrentUser, services: ServicesDep) -> TicketDetailOut:
    """Rate a resolved ticket from 1 to 5, once."""
    services.tickets.rate(user, ticket_id, body.score, body.comment)
    return _detail(services, user, ticket_id)


# --- agents ------------------------------------------------------------------------------------
@router.get("/agent/tickets", response_model=list[TicketOut], tags=["agent"])
def queue_view(
    agent: CurrentAgent, services: ServicesDep,
    queue: Annotated[str | None, Query(description="One of your queues.")] = None,
    status: Annotated[Status | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    sla_breached: Annotated[bool | None, Query(description="Only tickets past (or within) their SLA.")] = None,
) -> list[TicketOut]:
    """Tickets in your queues (confidential ones only for that queue's members)."""
    rows = services.tickets.agent_tickets(agent, queue=queue, status=status, priority=priority,
                                          sla_breached=sla_breached)
    return [TicketOut.of(t, services.tickets.breached(t)) for t in rows]


@router.get("/agent/tickets/{ticket_id}", response_model=AgentTicketOut, tags=["agent"])
def agent_ticket(ticket_id: str, agent: CurrentAgent, services: ServicesDep) -> AgentTicketOut:
    """Everything about a ticket: transcript, the bot's sources and draft, notes, events."""
    return _agent_detail(services, agent, ticket_id)


@router.get("/agent/tickets/{ticket_id}/attachments/{attachment_id}", response_class=Response, tags=["agent"],
            responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}})
def attachment(ticket_id: str, attachment_id: str, agent: CurrentAgent, services: ServicesDep) -> Response:
    """Download a file the employee attached (always as a download: never rendered by the browser)."""
    found = services.tickets.attachment(agent, ticket_id, attachment_id)
    name = quote(found.filename, safe="")
    return Response(found.data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                             "X-Content-Type-Options": "nosniff"})


@router.post("/agent/tickets/{ticket_id}/assign", response_model=AgentTicketOut, tags=["agent"])
def assign(ticket_id: str, body: AssignIn, agent: CurrentAgent, services: ServicesDep) -> AgentTicketOut:
    """Assign the ticket (or claim it: no assignee)."""
    services.tickets.assign(agent, ticket_id, body.assignee)
    return _agent_detail(services, agent, ticket_id)


@router.post("/agent/tickets/{ticket_id}/reply", response_model=AgentTicketOut, tags=["agent"])
def reply(ticket_id: str, body: MessageIn, agent: CurrentAgent, services: ServicesDep) -> AgentTicketOut:
    """Reply to the employee (visible to them, notified)."""
    services.tickets.reply(agent, ticket_id, body.body)
    return _agent_detail(services, agent, ticket_id)


@router.post("/agent/tickets/{ticket_id}/note", response_model=AgentTicketOut, tags=["agent"])
def note(ticket_id: str, body: MessageIn, agent: CurrentAgent, services: ServicesDep) -> AgentTicketOut:
    """Internal note: never shown to the employee."""
    services.tickets.note(agent, ticket_id, body.body)
    return _agent_detail(services, agent, ticket_id)


@router.post("/agent/tickets/{ticket_id}/status", response_model=AgentTicketOut, tags=["agent"])
def set_status(ticket_id: str, body: StatusIn, agent: CurrentAgent, services: ServicesDep) -> AgentTicketOut:
    """Change status: new → open → pending → resolved → closed; resolved → open reopens. Invalid moves: 409."""
    services.tickets.set_status(agent, ticket_id, body.status, body.reason)
    return _agent_detail(services, agent, ticket_id)


@router.post("/agent/tickets/{ticket_id}/publish-faq", response_model=FaqOut, tags=["agent"])
def publish_faq(ticket_id: str, body: FaqIn, agent: CurrentAgent, services: ServicesDep) -> FaqOut:
    """Draft a FAQ article from a resolved ticket (not indexed until confirmed)."""
    path, content = services.faq.draft(agent, ticket_id, body.title, body.body)
    return FaqOut(path=path, status="draft", content=content)


@router.post("/agent/tickets/{ticket_id}/publish-faq/confirm", response_model=FaqOut, tags=["agent"])
def confirm_faq(ticket_id: str, agent: CurrentAgent, services: ServicesDep) -> FaqOut:
    """Publish the draft into the corpus and queue an incremental re-index job (`job_id`) that indexes it."""
    path, content, job_id = services.faq.confirm(agent, ticket_id)
    return FaqOut(path=path, status="published", content=content, job_id=job_id)

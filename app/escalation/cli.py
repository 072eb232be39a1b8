"""`ayuda tickets …` and `ayuda outbox …`: work with tickets and notifications without the model loaded."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_session_factory, session_scope, upgrade
from app.escalation.models import OutboxMessage, Ticket
from app.escalation.notify import OutboxWorker
from app.escalation.service import TicketService
from app.privacy.mask import mask_text

tickets_app = typer.Typer(help="Tickets.", no_args_is_help=True)
outbox_app = typer.Typer(help="Notification outbox.", no_args_is_help=True)
out = Console()


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    if settings.auto_migrate:
        upgrade(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


@tickets_app.command("list")
def list_tickets(
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
) -> None:
    """List tickets (all queues: this is an operator command).

    Example: ayuda tickets list --queue it --status new
    """
    settings = Settings()
    sessions = _sessions(settings)
    service = TicketService(settings, sessions)
    q = select(Ticket).order_by(Ticket.created_at.desc())
    if queue:
        q = q.where(Ticket.queue == queue)
    if status:
        q = q.where(Ticket.status == status)
    with session_scope(sessions) as s:
        rows = s.scalars(q).all()
        table = Table(title=f"{len(rows)} tickets")
        for col in ("number", "queue", "priority", "status", "requester", "assignee", "SLA", "subject"):
            table.add_column(col, overflow="fold")
        for t in rows:
            table.add_row(t.number, t.queue, t.priority, t.status, t.requester, t.assignee or "",
                          "BREACHED" if service.breached(t) else "ok", mask_text(t.subject)[:60])
    out.print(table)


@outbox_app.command("deliver")
def deliver() -> None:
    """Deliver due notifications once (the server does this continuously)."""
    settings = Settings()
    worker = OutboxWorker(settings, _sessions(settings))
    out.print(f"delivered {worker.run_once(limit=1000)}")


@outbox_app.command("retry")
def retry() -> None:
    """Put notifications that failed for good back in the queue."""
    settings = Settings()
    out.print(f"requeued {OutboxWorker(settings, _sessions(settings)).retry_failed()}")


@outbox_app.command("status")
def status() -> None:
    """Count notifications by channel and status."""
    settings = Settings()
    with session_scope(_sessions(settings)) as s:
        rows = s.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                         .group_by(OutboxMessage.channel, OutboxMessage.status)).all()
    for channel, state, count in rows:
        out.print(f"{channel:8s} {state:10s} {count}")

"""`ayuda mail …`: the e-mail channel from the command line."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from app.config import Settings

mail_app = typer.Typer(help="The e-mail channel (AYUDA_MAIL_*).", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@mail_app.command("poll")
def poll(
    forever: Annotated[bool, typer.Option("--forever", help="Keep polling every AYUDA_MAIL_POLL_SECONDS "
                                          "(and deliver the replies) until interrupted.")] = False,
) -> None:
    """Read the help mailbox once: answer new mails, open tickets, add replies to tickets.

    The replies are queued in the outbox and delivered at once (and by the server or `ayuda outbox deliver`
    if SMTP is down).

    Examples:\n
      ayuda mail poll\n
      AYUDA_MAIL_POLL_SECONDS=30 ayuda mail poll --forever
    """
    from app.services import build_services

    settings = Settings()
    if not settings.mail_enabled:
        err.print("[bold red]Error:[/] the e-mail channel is off: set AYUDA_MAIL_IMAP_HOST (README \"Connecting "
                  "a mailbox\")")
        raise typer.Exit(2)
    services = build_services(settings)
    assert services.mail is not None
    while True:
        counts = services.mail.poll_once()
        delivered = services.outbox.run_once(limit=1000)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no new mail"
        out.print(f"{summary}; {delivered} mails sent")
        if not forever:
            return
        time.sleep(max(settings.mail_poll_seconds, 1.0))

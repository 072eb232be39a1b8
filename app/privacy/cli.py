"""`ayuda privacy …`: export or erase a user's data, apply retention (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.config import Settings
from app.errors import AyudaError
from app.escalation.cli import _sessions
from app.privacy.service import PrivacyService

privacy_app = typer.Typer(help="Personal data: export, erase, retention.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
CLI_ACTOR = "cli"


def _service() -> PrivacyService:
    settings = Settings()
    return PrivacyService(settings, _sessions(settings))


def _fail(message: str) -> None:
    err.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    raise typer.Exit(1)


@privacy_app.command("export")
def export(
    user: Annotated[str, typer.Option("--user", help="The user id (as in X-Ayuda-User / the identity provider).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON to FILE.")] = None,
) -> None:
    """Everything stored about a user, as JSON (same shape as GET /api/v1/admin/privacy/users/{user}/export).

    Example: ayuda privacy export --user ana@example.com -o ana.json
    """
    try:
        data = _service().export(user, CLI_ACTOR)
    except AyudaError as e:
        _fail(str(e))
        return
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}: {len(data['conversations'])} conversations, {len(data['tickets'])} tickets")
    else:
        print(text)


@privacy_app.command("erase")
def erase(
    user: Annotated[str, typer.Option("--user", help="The user id to erase.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Anonymise everything of a user (texts removed, id replaced by a pseudonym); recorded in the audit log.

    Example: ayuda privacy erase --user ana@example.com --yes
    """
    if not yes and not typer.confirm(f"Erase every conversation and ticket of {user}? This cannot be undone"):
        raise typer.Exit(1)
    try:
        result = _service().erase(user, CLI_ACTOR)
    except AyudaError as e:
        _fail(str(e))
        return
    print(json.dumps(result, ensure_ascii=False))


@privacy_app.command("retention")
def retention() -> None:
    """Anonymise closed conversations older than AYUDA_RETENTION_DAYS now (the server also does it hourly)."""
    service = _service()
    if service.settings.retention_days <= 0:
        out.print("AYUDA_RETENTION_DAYS is 0: conversations are kept forever.")
        return
    counts = service.retention(actor=CLI_ACTOR)
    out.print(f"anonymised {counts['conversations']} conversations and {counts['tickets']} tickets "
              f"older than {service.settings.retention_days} days")

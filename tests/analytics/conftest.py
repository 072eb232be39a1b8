"""Admin analytics tests: a real app (real model, sample index, a copy of the corpus) on SQLite and PostgreSQL.

PostgreSQL runs in a database of its own (created and dropped here), so these tests never touch the shared
`test` database that other suites reset.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("AYUDA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN = {"X-Ayuda-User": "olga.admin@brightwave.example", "X-Ayuda-Groups": "admins"}
IT_AGENT = {"X-Ayuda-User": "ivan.it@brightwave.example", "X-Ayuda-Groups": "it-agents"}
FAC_AGENT = {"X-Ayuda-User": "fiona.fac@brightwave.example", "X-Ayuda-Groups": "facilities-agents"}


def user(name: str) -> dict[str, str]:
    return {"X-Ayuda-User": f"{name}@brightwave.example"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('analytics-db') / 'ayuda.db'}"
        return
    name = f"ayuda_analytics_{uuid.uuid4().hex[:8]}"
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # CI starts PostgreSQL; a developer machine without it says so loudly
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {e}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def ask(client, message: str, headers: dict[str, str], **extra) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def shift(client, conversation_id: str, days: float) -> None:  # type: ignore[no-untyped-def]
    """Move a conversation (its messages and tickets, with their SLA due times) `days` into the past."""
    from app.chat.models import Conversation, Message
    from app.escalation.models import Ticket

    delta = dt.timedelta(days=days)
    with client.app.state.services.sessions.begin() as s:
        conv = s.get(Conversation, conversation_id)
        conv.created_at -= delta
        for m in s.scalars(select(Message).where(Message.conversation_id == conversation_id)):
            m.created_at -= delta
        for t in s.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)):
            for col in ("created_at", "first_response_due", "resolution_due", "first_response_at", "resolved_at"):
                if getattr(t, col) is not None:
                    setattr(t, col, getattr(t, col) - delta)

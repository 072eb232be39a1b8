"""Ticket tests run against SQLite and the real PostgreSQL on 127.0.0.1:5432 (database `test`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text


def _reset_postgres() -> str:
    """The worker's PostgreSQL database (tests/support/pg.py), emptied; its URL."""
    from tests.support.pg import worker_database

    url = worker_database()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    try:
        return _reset_postgres()
    except Exception as e:  # CI starts PostgreSQL; a developer machine without it says so loudly
        pytest.fail(f"PostgreSQL is not reachable: {e}")


@pytest.fixture
def make_client(tmp_path, sample_index, embedder, db_url):  # type: ignore[no-untyped-def]
    """Factory for apps sharing one database (to simulate restarts)."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    clients = []

    def make(**extra):  # type: ignore[no-untyped-def]
        settings = make_settings(tmp_path, sample_index, embedder, **({"run_outbox_worker": False} | extra))
        settings = settings.model_copy(update={"database_url": db_url})
        client = TestClient(create_app(settings, embedder=embedder))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> Iterator:  # type: ignore[no-untyped-def]
    return make_client()


EMPLOYEE = {"X-Ayuda-User": "ana.garcia@brightwave.example"}
IT_AGENT = {"X-Ayuda-User": "ivan.it@brightwave.example", "X-Ayuda-Groups": "it-agents"}
HR_AGENT = {"X-Ayuda-User": "helen.hr@brightwave.example", "X-Ayuda-Groups": "hr-agents"}
HR_CONFIDENTIAL = {"X-Ayuda-User": "carmen.hrc@brightwave.example", "X-Ayuda-Groups": "hr-confidential,hr-agents"}

"""Privacy tests run against SQLite and the real PostgreSQL (AYUDA_TEST_POSTGRES_URL, schema reset per test)."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("AYUDA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN = {"X-Ayuda-User": "olga.admin@brightwave.example", "X-Ayuda-Groups": "admins"}


def _reset_postgres() -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'privacy.db'}"
    try:
        _reset_postgres()
    except Exception as e:  # CI starts PostgreSQL; a developer machine without it says so loudly
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {e}")
    return PG_URL


@pytest.fixture
def client(tmp_path, sample_index, embedder, db_url):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import CORPUS, make_settings

    corpus = tmp_path / "corpus"  # FAQ drafts are written into the corpus folder
    shutil.copytree(CORPUS, corpus)
    settings = make_settings(tmp_path, sample_index, embedder, run_outbox_worker=False, database_url=db_url,
                             corpus_dir=corpus, webhook_url="http://127.0.0.1:9/hook", webhook_secret="s3cret")
    with TestClient(create_app(settings, embedder=embedder)) as c:
        yield c


def ask(client, message: str, headers: dict[str, str], **extra) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()

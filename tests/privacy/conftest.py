"""Privacy tests run against SQLite and the real PostgreSQL (AYUDA_TEST_POSTGRES_URL, schema reset per test)."""

from __future__ import annotations

import shutil

import pytest

from tests.escalation.conftest import db_url  # noqa: F401  (the same SQLite/PostgreSQL fixtures)

ADMIN = {"X-Ayuda-User": "olga.admin@brightwave.example", "X-Ayuda-Groups": "admins"}


@pytest.fixture
def client(tmp_path, sample_index, embedder, db_url):  # type: ignore[no-untyped-def]  # noqa: F811
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

"""Re-index jobs live in the database: their state survives a restart, an interrupted job is reported, and a
build that crashes halfway leaves the serving build untouched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.analytics.conftest import ADMIN
from tests.conftest import CORPUS, make_settings
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.integration


def make_client(settings, embedder):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    return TestClient(create_app(settings, embedder=embedder))


def small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    for name in ("it/password-reset.md", "it/vpn-setup.md", "hr/annual-leave.md"):
        (corpus / Path(name).parent).mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text((CORPUS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return corpus


def test_a_job_and_its_build_survive_a_restart(tmp_path, index_copy, embedder):
    settings = make_settings(tmp_path, index_copy, embedder, run_outbox_worker=False)
    with make_client(settings, embedder) as client:
        job = wait_for_job(client, client.post("/api/v1/admin/reindex", headers=ADMIN).json()["job_id"], ADMIN)
        assert job["status"] == "done" and job["report"]["embedded_documents"] == 0, job
    (index_copy / "CURRENT").write_text("something-else")  # only the database says which build is active
    with make_client(settings, embedder) as client:
        again = client.get(f"/api/v1/admin/reindex/{job['job_id']}", headers=ADMIN).json()
        assert again == job
        assert client.app.state.services.store.get().build_id == job["build_id"]


def test_an_interrupted_job_is_reported_failed_and_a_new_one_can_start(tmp_path, index_copy, embedder):
    from app.db import session_scope
    from app.jobs.models import IndexJob

    settings = make_settings(tmp_path, index_copy, embedder, run_outbox_worker=False)
    with make_client(settings, embedder) as client:
        with session_scope(client.app.state.services.sessions) as s:  # its process died 10 minutes ago
            long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
            s.add(IndexJob(id="lost", status="running", runner="host-a:4242", started_at=long_ago,
                           heartbeat_at=long_ago))
        lost = client.get("/api/v1/admin/reindex/lost", headers=ADMIN).json()
        assert lost["status"] == "failed" and "interrupted: host-a:4242 stopped" in lost["error"]
        r = client.post("/api/v1/admin/reindex", headers=ADMIN)
        assert r.status_code == 202 and r.json()["job_id"] != "lost"
        assert wait_for_job(client, r.json()["job_id"], ADMIN)["status"] == "done"


def test_a_build_that_crashes_halfway_leaves_the_serving_build_untouched(tmp_path, embedder):
    from app.ranking import ranking_profile
    from app.retrieval import build_index

    corpus = small_corpus(tmp_path)
    index_dir = tmp_path / "index"
    settings = make_settings(tmp_path, index_dir, embedder, corpus_dir=corpus, run_outbox_worker=False)
    build_index(corpus, index_dir, embedder.path, lambda: embedder, profile=ranking_profile(settings))
    serving = (index_dir / "CURRENT").read_text().strip()

    def crashing_build(*args, on_chunks_embedded, **kwargs):  # type: ignore[no-untyped-def]
        def embedded(count: int) -> None:
            on_chunks_embedded(count)
            raise OSError("disk full")  # after the first chunks are embedded

        return build_index(*args, on_chunks_embedded=embedded, **kwargs)

    with make_client(settings, embedder) as client:
        services = client.app.state.services
        original = services.dispatch.context
        services.dispatch.context = lambda: _with_build(original(), crashing_build)
        job = wait_for_job(client, client.post("/api/v1/admin/reindex", json={"full": True}, headers=ADMIN).json()["job_id"], ADMIN)
        assert job["status"] == "failed" and "disk full" in job["error"] and job["build_id"] is None
        assert job["progress"]["done"] > 0  # it crashed after embedding had begun
        assert (index_dir / "CURRENT").read_text().strip() == serving
        assert [p.name for p in index_dir.iterdir() if (p / "manifest.json").exists()] == [serving]
        assert services.registry.active() is None and services.store.get().build_id == serving
        turn = client.post("/api/v1/chat", json={"message": "How do I reset my password?"},
                           headers={"X-Ayuda-User": "ana"}).json()
        assert turn["outcome"] == "answered" and turn["citations"][0]["doc_id"] == "it/password-reset.md"


def _with_build(context, build):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(context, build=build)

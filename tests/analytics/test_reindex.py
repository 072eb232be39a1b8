"""Re-index from the admin API: a background job with progress, one at a time, failures reported as `failed`."""

from __future__ import annotations

import threading
import time

import pytest

from tests.analytics.conftest import ADMIN, ask
from tests.conftest import make_settings
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.integration

DOCKING_ARTICLE = """---
title: Docking stations
department: it
language: en
audience: [everyone]
owner: it-help@brightwave.example
updated: 2026-11-20
url: https://help.brightwave.example/it/docking-stations
---
# Docking stations

## A docking station makes a buzzing or whining noise

A buzzing or whining noise from a Dell WD22TB4 docking station comes from its power adapter. Unplug the dock
for ten seconds and plug it into a different wall socket. If the dock keeps buzzing, bring it to the IT desk
and we swap the docking station the same day.
"""


def make_client(settings, embedder):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    return TestClient(create_app(settings, embedder=embedder))


def test_reindex_embeds_only_the_new_article_and_the_server_answers_from_it(tmp_path, corpus_copy, index_copy,
                                                                            embedder):
    settings = make_settings(tmp_path, index_copy, embedder, corpus_dir=corpus_copy, run_outbox_worker=False)
    with make_client(settings, embedder) as client:
        before = client.app.state.services.store.get().build_id
        assert ask(client, "My docking station makes a buzzing noise", ADMIN)["outcome"] == "escalated"
        (corpus_copy / "it" / "docking-stations.md").write_text(DOCKING_ARTICLE, encoding="utf-8")

        r = client.post("/api/v1/admin/reindex", json={"full": False}, headers=ADMIN)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "queued" and r.json()["full"] is False
        job = wait_for_job(client, r.json()["job_id"], ADMIN)
        assert job["status"] == "done" and job["error"] is None, job
        assert job["progress"]["total"] > 0 and job["progress"]["done"] == job["progress"]["total"]
        report = job["report"]
        assert report["embedded_documents"] == 1 and report["reused_documents"] == report["documents"] - 1
        assert report["embedded_chunks"] == job["progress"]["total"]
        assert job["build_id"] != before and client.app.state.services.store.get().build_id == job["build_id"]
        assert job["finished_at"] is not None

        turn = ask(client, "My docking station makes a buzzing noise", ADMIN)
        assert turn["outcome"] == "answered" and turn["citations"][0]["doc_id"] == "it/docking-stations.md"


def test_a_failed_build_ends_as_failed_with_its_message(tmp_path, index_copy, embedder):
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    settings = make_settings(tmp_path, index_copy, embedder, corpus_dir=empty, run_outbox_worker=False)
    with make_client(settings, embedder) as client:
        r = client.post("/api/v1/admin/reindex", headers=ADMIN)
        assert r.status_code == 202
        job = wait_for_job(client, r.json()["job_id"], ADMIN)
        assert job["status"] == "failed" and "has no documents" in job["error"] and job["build_id"] is None
        assert client.get("/readyz").status_code == 200  # the server keeps serving the previous build
        missing = client.get("/api/v1/admin/reindex/no-such-job", headers=ADMIN)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_one_reindex_at_a_time(tmp_path, index_copy, embedder):
    from dataclasses import replace

    from app.retrieval import BuildReport

    release = threading.Event()

    def slow_build(corpus_dir, index_dir, model_path, get_embedder, params, *, full, on_start,  # type: ignore[no-untyped-def]
                   on_chunks_embedded, profile, prune):
        on_start(10)
        on_chunks_embedded(4)
        assert release.wait(30)
        on_chunks_embedded(6)
        return BuildReport(build_id="b1", path=index_dir / "b1", documents=3, chunks=10, embedded_chunks=10)

    settings = make_settings(tmp_path, index_copy, embedder, run_outbox_worker=False)
    with make_client(settings, embedder) as client:
        services = client.app.state.services
        original = services.dispatch.context
        services.dispatch.context = lambda: replace(original(), build=slow_build, after_build=None)
        first = client.post("/api/v1/admin/reindex", headers=ADMIN)
        assert first.status_code == 202
        job_id = first.json()["job_id"]
        for _ in range(100):
            progress = client.get(f"/api/v1/admin/reindex/{job_id}", headers=ADMIN).json()["progress"]
            if progress["done"]:
                break
            time.sleep(0.05)
        assert progress == {"done": 4, "total": 10}
        second = client.post("/api/v1/admin/reindex", json={"full": True}, headers=ADMIN)
        assert second.status_code == 200 and second.json()["job_id"] == job_id
        assert second.json()["status"] == "running"
        assert services.registry.active() is None  # nothing activated until the build is done
        release.set()
        job = wait_for_job(client, job_id, ADMIN)
        assert job["status"] == "done" and job["progress"] == {"done": 10, "total": 10} and job["build_id"] == "b1"
        third = client.post("/api/v1/admin/reindex", headers=ADMIN)
        assert third.status_code == 202 and third.json()["job_id"] != job_id
        wait_for_job(client, third.json()["job_id"], ADMIN)

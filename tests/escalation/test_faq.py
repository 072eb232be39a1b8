"""Publish as FAQ: a resolved ticket becomes a draft article, then (confirmed) a live, indexed one."""


import pytest

from tests.escalation.conftest import EMPLOYEE, IT_AGENT
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.integration
ADMIN = {"X-Ayuda-User": "ops.admin", "X-Ayuda-Groups": "admins"}


def test_resolved_ticket_is_published_as_a_faq_and_indexed(tmp_path, corpus_copy, index_copy, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    index_dir = index_copy
    settings = make_settings(tmp_path, index_dir, embedder, run_outbox_worker=False, corpus_dir=corpus_copy)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        turn = client.post("/api/v1/chat", json={"message": "My docking station makes a buzzing noise"},
                           headers=EMPLOYEE).json()
        tid = turn["ticket"]["id"]
        answer = "A buzzing dock usually has a failing power brick: swap it at the IT Tech Bar, no ticket needed."
        client.post(f"/api/v1/agent/tickets/{tid}/reply", json={"body": answer}, headers=IT_AGENT)

        early = client.post(f"/api/v1/agent/tickets/{tid}/publish-faq", json={}, headers=IT_AGENT)
        assert early.status_code == 409 and "once it is resolved" in early.json()["error"]["message"]
        client.post(f"/api/v1/agent/tickets/{tid}/status", json={"status": "resolved"}, headers=IT_AGENT)

        draft = client.post(f"/api/v1/agent/tickets/{tid}/publish-faq", json={"title": "Buzzing docking station"},
                            headers=IT_AGENT).json()
        assert draft["status"] == "draft" and draft["path"].endswith(".md.draft")
        assert "source_ticket: IT-" in draft["content"] and answer in draft["content"]
        hits = client.get("/api/v1/search", params={"q": "docking station buzzing power brick"}).json()["hits"]
        assert not any(h["doc_id"].startswith("faq/") for h in hits)  # a draft is not indexed

        live = client.post(f"/api/v1/agent/tickets/{tid}/publish-faq/confirm", headers=IT_AGENT).json()
        assert live["status"] == "published" and live["path"].endswith(".md") and live["job_id"]
        job = wait_for_job(client, live["job_id"], ADMIN)
        assert job["status"] == "done" and job["report"]["embedded_documents"] == 1, job
        hits = client.get("/api/v1/search", params={"q": "docking station buzzing power brick"}).json()["hits"]
        assert hits[0]["doc_id"].startswith("faq/buzzing-docking-station-it-")
        again = client.post("/api/v1/chat", json={"message": "my docking station is buzzing, what do I do?"},
                            headers={"X-Ayuda-User": "someone.else"}).json()
        assert again["citations"] and again["citations"][0]["doc_id"].startswith("faq/")

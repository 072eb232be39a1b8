"""Faults: PostgreSQL unreachable mid-run, and the server killed with SIGKILL while escalating."""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from tests.conftest import RELAXED_LIMITS
from tests.support.pg import fresh_database
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
ANA = {"X-Ayuda-User": "ana@brightwave.example"}
PERSON = "I want to talk to a person about my laptop"


def test_postgres_stopped_chat_answers_from_the_index_and_tickets_wait_for_it(tmp_path, sample_index, embedder):
    from fastapi.testclient import TestClient

    from app.escalation.models import Ticket
    from app.main import create_app
    from tests.conftest import make_settings

    with fresh_database("ayuda_fault") as url, TcpProxy(("127.0.0.1", 5432)) as proxy:
        via_proxy = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        settings = make_settings(tmp_path, sample_index, embedder, database_url=via_proxy, run_outbox_worker=False)
        with TestClient(create_app(settings, embedder=embedder)) as client:
            before = client.post("/api/v1/chat", json={"message": "How do I reset my password?"}, headers=ANA)
            assert before.status_code == 200 and before.json()["stored"] is True

            proxy.cut()  # PostgreSQL is gone: every connection closed, new ones refused
            answered = client.post("/api/v1/chat", json={"message": "How do I reset my password?"}, headers=ANA)
            assert answered.status_code == 200, answered.text
            body = answered.json()
            assert body["outcome"] == "answered" and body["stored"] is False
            assert body["citations"][0]["doc_id"] == "it/password-reset.md"

            key = {"Idempotency-Key": "laptop-1"} | ANA
            refused = client.post("/api/v1/chat", json={"message": PERSON}, headers=key)
            assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
            assert refused.json()["error"]["code"] == "database_unavailable"
            assert "send it again" in refused.json()["error"]["message"]
            assert client.get("/readyz").json()["database"]["ready"] is False

            proxy.restore()
            first = client.post("/api/v1/chat", json={"message": PERSON}, headers=key)
            again = client.post("/api/v1/chat", json={"message": PERSON}, headers=key)
            assert first.status_code == 200 and first.json()["outcome"] == "escalated", first.text
            assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Ticket)) == 1
        engine.dispose()


def test_sigkill_while_escalating_loses_no_acknowledged_ticket_or_event(tmp_path, index_copy, embedder):
    from tests.escalation.test_outbox import Receiver, free_port
    from tests.support.processes import serve, wait_ready

    hook = Receiver(free_port())
    port = free_port()
    env = {"AYUDA_INDEX_DIR": str(index_copy), "AYUDA_DATABASE_URL": f"sqlite:///{tmp_path / 'ayuda.db'}",
           "AYUDA_EMBEDDING_MODEL": str(embedder.path), "AYUDA_WEBHOOK_URL": f"http://127.0.0.1:{hook.port}/hook",
           "AYUDA_WEBHOOK_SECRET": "s", "AYUDA_OUTBOX_POLL_SECONDS": "0.2", "AYUDA_INDEX_CHECK_SECONDS": "0",
           "AYUDA_MAX_CHAT_QUEUE": "64"} | {f"AYUDA_{k.upper()}": str(v) for k, v in RELAXED_LIMITS.items()}
    url = f"http://127.0.0.1:{port}"
    server = serve(port, env, tmp_path / "first.log")
    try:
        wait_ready(server, url)

        def escalate(n: int) -> tuple[int, dict | None]:
            headers = {"X-Ayuda-User": f"user{n}@brightwave.example", "Idempotency-Key": f"k{n}"}
            try:
                r = httpx.post(f"{url}/api/v1/chat", json={"message": PERSON}, headers=headers, timeout=60)
                return n, r.json() if r.status_code == 200 else None
            except httpx.HTTPError:
                return n, None

        acked: dict[int, dict] = {}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(escalate, n) for n in range(16)]
            for done in concurrent.futures.as_completed(futures):
                n, body = done.result()
                if body is not None:
                    acked[n] = body
                if len(acked) == 4:
                    server.kill()  # mid-run: other turns are being answered, events wait in the outbox
        assert 4 <= len(acked) < 16, len(acked)
    finally:
        server.kill()

    server = serve(port, env, tmp_path / "second.log")
    try:
        wait_ready(server, url)
        for n, body in acked.items():
            ticket = httpx.get(f"{url}/api/v1/tickets/{body['ticket']['id']}",
                               headers={"X-Ayuda-User": f"user{n}@brightwave.example"}, timeout=30)
            assert ticket.status_code == 200 and ticket.json()["number"] == body["ticket"]["number"]
        # A request that got no answer is retried with its key: it gets one ticket, the same on a second retry.
        lost = next(n for n in range(16) if n not in acked)
        retried = [httpx.post(f"{url}/api/v1/chat", json={"message": PERSON}, timeout=60,
                              headers={"X-Ayuda-User": f"user{lost}@brightwave.example", "Idempotency-Key": f"k{lost}"})
                   for _ in range(2)]
        assert [r.status_code for r in retried] == [200, 200], retried[0].text
        assert retried[0].json()["ticket"]["id"] == retried[1].json()["ticket"]["id"]

        wanted = {body["ticket"]["id"] for body in acked.values()} | {retried[0].json()["ticket"]["id"]}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            created = {json.loads(b)["ticket"]["id"] for _, _, b in list(hook.requests)
                       if json.loads(b)["event"] == "ticket.created"}
            if wanted <= created:
                break
            time.sleep(0.2)
        assert wanted <= created, f"not delivered: {wanted - created}"
    finally:
        server.stop()
        hook.stop()

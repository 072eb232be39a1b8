"""Abuse and overload limits: 429 + Retry-After (per user, per IP, shared through Redis), the hourly ticket cap,
413 for big bodies, 503 load shedding reported by /readyz, and one 422 for blank messages."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.chat.models import Message
from app.escalation.models import Ticket
from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/2"


@pytest.fixture
def app_with(tmp_path, sample_index, embedder) -> Iterator:  # type: ignore[no-untyped-def]
    """Factory: a started app (TestClient) with the given settings; several share one database."""
    clients: list[TestClient] = []

    def make(**extra) -> TestClient:  # type: ignore[no-untyped-def]
        settings = make_settings(tmp_path, sample_index, embedder, run_outbox_worker=False, **extra)
        client = TestClient(create_app(settings, embedder=embedder))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def hello(client, user: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/chat", json={"message": "Hello"}, headers={"X-Ayuda-User": user})


def assert_429(r: httpx.Response, who: str) -> None:
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["code"] == "rate_limited" and who in r.json()["error"]["message"]


def test_a_user_over_the_chat_rate_gets_429_with_retry_after_and_others_are_unaffected(app_with):
    client = app_with(chat_rate_per_user="3/minute")
    assert [hello(client, "eager.user").status_code for _ in range(3)] == [200, 200, 200]
    assert_429(hello(client, "eager.user"), "from you")
    assert hello(client, "calm.user").status_code == 200


def test_one_address_over_the_chat_rate_gets_429_whoever_it_claims_to_be(app_with):
    client = app_with(chat_rate_per_ip="4/minute")
    assert [hello(client, f"user{i}").status_code for i in range(4)] == [200] * 4
    assert_429(hello(client, "user5"), "your network address")


def test_two_replicas_share_the_rate_limit_through_redis(app_with):
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    user = f"redis.{uuid.uuid4().hex[:8]}@brightwave.example"
    one = app_with(chat_rate_per_user="3/minute", redis_url=REDIS_URL)
    two = app_with(chat_rate_per_user="3/minute", redis_url=REDIS_URL)
    try:
        assert [hello(c, user).status_code for c in (one, two, one)] == [200, 200, 200]
        assert_429(hello(two, user), "from you")
        assert any(user in k.decode() for k in store.scan_iter("ayuda*"))
    finally:
        for key in store.scan_iter(f"*{user}*"):
            store.delete(key)


def test_ticket_writes_are_rate_limited(app_with):
    client = app_with(ticket_rate_per_user="2/minute")
    me = {"X-Ayuda-User": "writer@brightwave.example"}
    ticket = client.post("/api/v1/chat", json={"message": "I want to talk to a person about my laptop"},
                         headers=me).json()["ticket"]
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    assert [client.post(url, json={"body": f"more {i}"}, headers=me).status_code for i in range(2)] == [200, 200]
    assert_429(client.post(url, json={"body": "and more"}, headers=me), "from you")


def test_past_the_hourly_ticket_cap_the_message_is_stored_and_answered_with_where_to_get_help(app_with):
    client = app_with(tickets_per_hour=2)
    me = {"X-Ayuda-User": "many.tickets@brightwave.example"}
    asks = ["I want to talk to a person about my laptop", "I want to talk to a person about my VPN",
            "I want to talk to a person about my printer"]
    turns = [client.post("/api/v1/chat", json={"message": m}, headers=me).json() for m in asks]
    assert [bool(t["ticket"]) for t in turns] == [True, True, False]
    capped = turns[2]
    assert capped["outcome"] == "escalated" and "2 tickets in the last hour" in capped["answer"]
    assert "it-help@brightwave.example" in capped["next_steps"]
    with client.app.state.services.sessions() as s:
        stored = s.scalars(select(Message).where(Message.conversation_id == capped["conversation_id"])
                           .order_by(Message.seq)).all()
        assert [(m.role, m.content) for m in stored][0] == ("user", asks[2])
        assert stored[1].id == capped["message_id"] and "2 tickets in the last hour" in stored[1].content
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2
    # a confidential report is never capped
    report = client.post("/api/v1/chat", json={"message": "My manager harasses and humiliates me"}, headers=me)
    assert report.json()["ticket"]["queue"] == "hr-confidential"


def test_blank_and_nul_ticket_messages_get_the_same_422_as_empty(app_with):
    client = app_with()
    me = {"X-Ayuda-User": "blank@brightwave.example"}
    ticket = client.post("/api/v1/chat", json={"message": "I want to talk to a person about my laptop"},
                         headers=me).json()["ticket"]
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    empty = client.post(url, json={"body": ""}, headers=me)
    assert empty.status_code == 422
    for blank in ["  ", "\x00", "\n\x00\t"]:
        r = client.post(url, json={"body": blank}, headers=me)
        assert r.status_code == 422 and r.json() == empty.json()
    ok = client.post(url, json={"body": "It is a Dell\x00 XPS"}, headers=me)
    assert ok.status_code == 200 and ok.json()["events"][-1]["body"] == "It is a Dell XPS"


def test_chat_turns_beyond_the_queue_depth_are_shed_and_readyz_says_overloaded(app_with):
    client = app_with(max_chat_queue=2)
    chat = client.app.state.services.chat
    gate, original = threading.Event(), chat.respond

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        gate.wait(60)
        return original(*args, **kwargs)

    chat.respond = held
    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(
        client.post("/api/v1/chat", json={"message": "How do I reset my password?"}).status_code)) for _ in range(2)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 30
    while client.app.state.shedder.in_flight < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "overloaded"
        shed = client.post("/api/v1/chat", json={"message": "When is payday?"})
        assert shed.status_code == 503 and shed.json()["error"]["code"] == "overloaded"
        assert int(shed.headers["Retry-After"]) >= 1
        assert client.get("/api/v1/search", params={"q": "vpn"}).status_code == 200  # only chat is shed
    finally:
        gate.set()
        for w in workers:
            w.join(60)
    assert results == [200, 200]
    assert client.get("/readyz").json()["status"] == "ready"


@pytest.fixture
def small_body_server(tmp_path, sample_index, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real uvicorn on loopback (real chunked transfer) with a 2 KiB body limit."""
    import uvicorn

    from tests.web.conftest import free_port

    settings = make_settings(tmp_path, sample_index, embedder, run_outbox_worker=False, max_body_bytes=2048)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, embedder=embedder), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_bodies_over_the_limit_get_413_with_or_without_content_length(small_body_server):
    url = f"{small_body_server}/api/v1/chat"
    big = b'{"message": "' + b"a" * 3000 + b'"}'
    r = httpx.post(url, content=big, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large" and "2048" in r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        yield big[:1000]
        yield big[1000:2000]
        yield big[2000:]

    r = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    small = httpx.post(url, content=iter([b'{"message": ', b'"Hello"}']), headers={"Content-Type": "application/json"},
                       timeout=60)
    assert small.status_code == 200 and small.json()["outcome"] == "smalltalk"

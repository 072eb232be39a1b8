"""Concurrent turns and Idempotency-Key, with real threads against the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.chat.models import Conversation, IdempotencyKey, Message
from app.escalation.models import Ticket

pytestmark = pytest.mark.integration

USER = {"X-Ayuda-User": "rosa.concurrent@brightwave.example"}
QUESTIONS = ["How do I reset my password?", "Can I see my payslips online?", "How many days of annual leave do I get?",
             "How do I connect to the VPN?", "Where do I book a meeting room?", "When is payday?"]


def at_once(calls):  # type: ignore[no-untyped-def]
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def messages(client, conversation_id: str) -> list[Message]:  # type: ignore[no-untyped-def]
    with client.app.state.services.sessions() as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                              .order_by(Message.seq)).all())


def test_turns_sent_at_once_in_one_conversation_all_get_their_answer_in_order(make_client):
    client = make_client()
    conv = client.post("/api/v1/chat", json={"message": "Hello"}, headers=USER).json()["conversation_id"]
    responses = at_once([lambda q=q: client.post("/api/v1/chat", json={"message": q, "conversation_id": conv},
                                                  headers=USER) for q in QUESTIONS])
    assert [r.status_code for r in responses] == [200] * len(QUESTIONS), [r.text for r in responses]
    rows = messages(client, conv)
    assert [m.seq for m in rows] == list(range(1, 2 * len(QUESTIONS) + 3))
    # serialized: every question is directly followed by its own answer
    assert [m.role for m in rows] == ["user", "assistant"] * (len(QUESTIONS) + 1)
    asked = {m.content: rows[i + 1].id for i, m in enumerate(rows) if m.role == "user"}
    assert set(asked) == {"Hello", *QUESTIONS}
    for q, r in zip(QUESTIONS, responses, strict=True):
        assert r.json()["message_id"] == asked[q]


def test_two_replicas_answering_one_conversation_at_once_store_every_turn(make_client):
    one, two = make_client(), make_client()  # two apps (two replicas) on one database
    conv = one.post("/api/v1/chat", json={"message": "Hello"}, headers=USER).json()["conversation_id"]
    calls = [lambda q=q, c=c: c.post("/api/v1/chat", json={"message": q, "conversation_id": conv}, headers=USER)
             for q, c in zip(QUESTIONS, [one, two] * 3, strict=True)]
    responses = at_once(calls)
    assert [r.status_code for r in responses] == [200] * len(QUESTIONS), [r.text for r in responses]
    rows = messages(one, conv)
    assert [m.seq for m in rows] == list(range(1, len(rows) + 1)) and len(rows) == 2 * len(QUESTIONS) + 2
    assert sorted(m.content for m in rows if m.role == "user") == sorted(["Hello", *QUESTIONS])
    answers = {m.id for m in rows if m.role == "assistant"}
    assert {r.json()["message_id"] for r in responses} <= answers


def test_the_same_idempotency_key_ten_times_at_once_stores_one_turn_and_one_ticket(make_client):
    client = make_client()
    headers = USER | {"Idempotency-Key": "a3c1d7e0-double-submit"}
    message = {"message": "I want to talk to a person about my laptop"}
    responses = at_once([lambda: client.post("/api/v1/chat", json=message, headers=headers)] * 10)
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert len({(b["conversation_id"], b["message_id"], b["answer"]) for b in bodies}) == 1
    assert bodies[0]["outcome"] == "escalated" and bodies[0]["ticket"]["number"].startswith("IT-")
    with client.app.state.services.sessions() as s:
        user_id = USER["X-Ayuda-User"]
        assert s.scalar(select(func.count()).select_from(Conversation).where(Conversation.user_id == user_id)) == 1
        assert s.scalar(select(func.count()).select_from(Message).where(Message.role == "user")) == 1
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        key = s.get(IdempotencyKey, (user_id, "a3c1d7e0-double-submit"))
        assert key is not None and key.message_id == bodies[0]["message_id"]
    # the nine retries replayed the stored turn: one turn and one ticket in the metrics, ten requests timed
    metrics = client.get("/metrics").text
    assert 'ayuda_chat_turns_total{language="en",outcome="escalated"} 1.0' in metrics
    assert 'ayuda_tickets_opened_total{queue="it"} 1.0' in metrics
    assert "ayuda_chat_seconds_count 10.0" in metrics


def test_a_reused_key_with_a_different_message_is_refused_not_swallowed(make_client):
    client = make_client()
    headers = USER | {"Idempotency-Key": "k-2026-12-04-1"}
    first = client.post("/api/v1/chat", json={"message": "How do I reset my password?"}, headers=headers)
    assert first.status_code == 200
    again = client.post("/api/v1/chat", json={"message": "How do I reset my password?"}, headers=headers)
    assert again.json()["message_id"] == first.json()["message_id"]
    other = client.post("/api/v1/chat", json={"message": "My manager keeps humiliating me in meetings"},
                        headers=headers)
    assert other.status_code == 409, other.text
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused" and "already used for a different message" in error["message"]
    moved = client.post("/api/v1/chat", json={"message": "How do I reset my password?",
                                              "conversation_id": first.json()["conversation_id"]}, headers=headers)
    assert moved.status_code == 409
    # the same key is free for another user
    mine = client.post("/api/v1/chat", json={"message": "When is payday?"},
                       headers={"X-Ayuda-User": "other.person", "Idempotency-Key": "k-2026-12-04-1"})
    assert mine.status_code == 200

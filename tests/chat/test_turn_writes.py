"""A chat turn writes in as few transactions as it can: every write transaction is an fsync (SQLite, PostgreSQL),
and on SQLite writers wait for each other. A turn answered from the documents stores its question and answer (and
completes its idempotency key) in one transaction; an escalation stores the question before the ticket is opened,
so the ticket's transcript has it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

pytestmark = pytest.mark.integration
WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def write_transactions(engine) -> Iterator[list[int]]:  # type: ignore[no-untyped-def]
    """Counts the committed transactions that wrote something (count[0])."""
    count, wrote = [0], set()

    def begin(conn) -> None:  # type: ignore[no-untyped-def]
        wrote.discard(id(conn.connection))

    def statement(conn, cursor, sql, *args) -> None:  # type: ignore[no-untyped-def]
        if sql.lstrip().upper().startswith(WRITES):
            wrote.add(id(conn.connection))

    def commit(conn) -> None:  # type: ignore[no-untyped-def]
        if id(conn.connection) in wrote:
            count[0] += 1
            wrote.discard(id(conn.connection))

    hooks = (("begin", begin), ("before_cursor_execute", statement), ("commit", commit))
    for name, fn in hooks:
        event.listen(engine, name, fn)
    try:
        yield count
    finally:
        for name, fn in hooks:
            event.remove(engine, name, fn)


def ask(client, message: str, user: str, conversation_id: str | None = None, key: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    headers = {"X-Ayuda-User": user} | ({"Idempotency-Key": key} if key else {})
    body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
    r = client.post("/api/v1/chat", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def stored(client, conversation_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    history = client.app.state.services.chat.store.history(conversation_id)
    return [(m.role, m.content) for m in history]


def test_an_answered_turn_is_one_write_transaction(client):
    engine = client.app.state.services.engine
    with write_transactions(engine) as writes:
        first = ask(client, "How do I reset my password?", "ana")
    assert first["outcome"] == "answered" and writes[0] == 1
    with write_transactions(engine) as writes:
        follow = ask(client, "How many vacation days do I get?", "ana", first["conversation_id"])
    assert follow["outcome"] == "answered" and writes[0] == 1
    assert stored(client, first["conversation_id"]) == [
        ("user", "How do I reset my password?"), ("assistant", first["answer"]),
        ("user", "How many vacation days do I get?"), ("assistant", follow["answer"])]


def test_with_an_idempotency_key_the_claim_and_the_turn_are_two_and_a_retry_writes_nothing(client):
    engine = client.app.state.services.engine
    with write_transactions(engine) as writes:
        first = ask(client, "How do I connect to the VPN?", "bruno", key="k-1")
    assert writes[0] == 2  # the key's claim, then the question, the answer and the key's completion
    with write_transactions(engine) as writes:
        again = ask(client, "How do I connect to the VPN?", "bruno", key="k-1")
    assert writes[0] == 0 and again["message_id"] == first["message_id"]
    with write_transactions(engine) as writes:  # the same question, new key: from the answer cache
        cached = ask(client, "How do I connect to the VPN?", "carla", key="k-2")
    assert writes[0] == 2 and cached["answer"] == first["answer"]
    assert ask(client, "How do I connect to the VPN?", "carla", key="k-2")["message_id"] == cached["message_id"]


def test_an_escalated_turns_ticket_has_the_question_in_its_transcript(client):
    reply = ask(client, "I want to talk to a person about my laptop", "dora", key="k-3")
    assert reply["outcome"] == "escalated" and reply["ticket"]
    from app.escalation.models import Ticket

    with client.app.state.services.sessions() as s:
        ticket = s.get(Ticket, reply["ticket"]["id"])
    assert ticket.transcript[0]["content"] == "I want to talk to a person about my laptop"
    assert stored(client, reply["conversation_id"]) == [
        ("user", "I want to talk to a person about my laptop"), ("assistant", reply["answer"])]
    assert ask(client, "I want to talk to a person about my laptop", "dora", key="k-3")["ticket"]["id"] == \
        reply["ticket"]["id"]

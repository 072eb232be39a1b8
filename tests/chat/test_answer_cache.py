"""A repeated first question is answered from the cache (same text, language, groups and build) and stored like
any turn; follow-ups, other groups, escalations and a new build never reuse a cached answer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def ask(client, message: str, user: str, groups: str = "", conversation_id: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    headers = {"X-Ayuda-User": user} | ({"X-Ayuda-Groups": groups} if groups else {})
    body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
    r = client.post("/api/v1/chat", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def cached(client, message_id: str) -> bool:  # type: ignore[no-untyped-def]
    reply = client.app.state.services.chat.store.message(message_id)
    return bool((reply.retrieval or {}).get("cached"))


def test_a_repeated_question_is_answered_from_the_cache_and_stored(client):
    first = ask(client, "How do I reset my password?", "ana")
    second = ask(client, "how do I reset my password", "bruno")
    assert first["outcome"] == "answered" and not cached(client, first["message_id"])
    assert cached(client, second["message_id"])
    assert (second["answer"], second["citations"]) == (first["answer"], first["citations"])
    assert second["conversation_id"] != first["conversation_id"]
    history = client.app.state.services.chat.store.history(second["conversation_id"])
    assert [(m.role, m.content) for m in history] == [("user", "how do I reset my password"),
                                                      ("assistant", second["answer"])]
    feedback = client.post(f"/api/v1/messages/{second['message_id']}/feedback", json={"helpful": True},
                           headers={"X-Ayuda-User": "bruno"})
    assert feedback.status_code == 204


def test_other_groups_follow_ups_and_escalations_are_not_served_from_the_cache(client):
    question = "What do service desk agents check before unlocking an account?"
    employee = ask(client, question, "ana")
    staff = ask(client, question, "ivan", groups="it-staff")
    assert not cached(client, staff["message_id"])  # another group set: its own answer
    runbook = "it/admin-runbook-account-unlock.md"
    assert runbook in {c["doc_id"] for c in staff["citations"]}, staff
    assert runbook not in {c["doc_id"] for c in employee["citations"]}

    ask(client, "How do I reset my password?", "carla")  # now cached
    mine = ask(client, "How many vacation days do I get?", "carla")
    follow = ask(client, "How do I reset my password?", "carla", conversation_id=mine["conversation_id"])
    assert not cached(client, follow["message_id"])

    tickets = [ask(client, "I want to talk to a person about my laptop", user)["ticket"] for user in ("d1", "d2")]
    assert all(tickets) and tickets[0]["id"] != tickets[1]["id"]


def test_a_new_build_is_not_answered_from_the_old_builds_cache(client):
    services = client.app.state.services
    first = ask(client, "How do I reset my password?", "ana")
    assert not cached(client, first["message_id"])
    key = next(iter(services.chat.cache._items))
    assert key[3] == services.store.get().build_id  # the build is part of the key
    services.chat.cache._items.clear()
    services.chat.cache.put(key[:3] + ("an-older-build",), "stale")  # what an older build would have left
    again = ask(client, "How do I reset my password?", "bruno")
    assert not cached(client, again["message_id"]) and again["answer"] == first["answer"]

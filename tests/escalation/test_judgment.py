"""What the bot does with messages it must not simply answer, end to end through the HTTP API."""

import pytest

from tests.escalation.conftest import EMPLOYEE, HR_CONFIDENTIAL

pytestmark = pytest.mark.integration


def ask(client, message, headers=EMPLOYEE, **extra):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("message,language,line", [
    ("I've been thinking about ending my life, I can't do this anymore", "en", "116 123"),
    ("ya no quiero seguir viviendo, no le veo sentido a nada", "es", "024"),
    ("to pensando em tirar minha vida, nao aguento mais", "pt", "CVV 188"),
])
def test_crisis_gets_support_lines_at_once_and_an_urgent_confidential_ticket(client, message, language, line):
    turn = ask(client, message)
    assert turn["outcome"] == "escalated" and turn["language"] == language
    assert line in turn["answer"] and "112" in turn["answer"]
    assert "PeopleHub > Benefits > Wellbeing" in turn["answer"]  # the employee assistance programme
    assert "couldn't find" not in turn["answer"] and "No he encontrado" not in turn["answer"]
    ticket = turn["ticket"]
    assert ticket["queue"] == "hr-confidential"
    full = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=HR_CONFIDENTIAL).json()
    assert full["priority"] == "urgent" and full["reason"] == "crisis" and full["confidential"]


@pytest.mark.parametrize("message", [
    "A manager keeps making sexual comments to me and touched me at the office party",
    "I found out I'm paid 20% less than my male colleagues for exactly the same job",
    "Me han bajado el sueldo desde que dije que estaba embarazada",
])
def test_sensitive_messages_go_to_the_confidential_lane_in_any_phrasing(client, message):
    turn = ask(client, message)
    assert turn["outcome"] == "escalated" and turn["ticket"]["queue"] == "hr-confidential"


@pytest.mark.parametrize("message,language", [
    ("How much does Laura from marketing earn?", "en"),
    ("quien de mi equipo ha sacado la peor nota en la evaluacion?", "es"),
    ("o Pedro ta de atestado por causa de que doença?", "pt"),
])
def test_requests_for_other_peoples_data_are_declined_without_a_ticket(client, message, language):
    turn = ask(client, message)
    assert turn["outcome"] == "declined" and turn["language"] == language
    assert turn["ticket"] is None and turn["citations"] == []
    assert client.get("/api/v1/tickets", headers=EMPLOYEE).json() == []


@pytest.mark.parametrize("message,language", [
    ("what's the weather going to be like in Dublin this weekend?", "en"),
    ("quién ganó el partido del Madrid ayer?", "es"),
    ("me passa uma receita de bolo de cenoura", "pt"),
    ("write me a python function that sorts a list of dicts by date", "en"),
])
def test_off_topic_messages_say_what_ayuda_does_and_open_no_ticket(client, message, language):
    turn = ask(client, message)
    assert turn["outcome"] == "off_topic" and turn["language"] == language
    assert turn["ticket"] is None and turn["citations"] == []
    assert client.get("/api/v1/tickets", headers=EMPLOYEE).json() == []


@pytest.mark.parametrize("message", [
    "When are the harassment training sessions this year?",
    "How do I kill a frozen app on my laptop?",
    "Si me toca trabajar un festivo, ¿me dan otro día libre?",
])
def test_ordinary_questions_with_a_scary_word_are_answered_as_questions(client, message):
    turn = ask(client, message)
    assert turn["outcome"] not in ("declined", "off_topic")
    assert not (turn["ticket"] and turn["ticket"]["queue"] == "hr-confidential")


def test_a_second_unanswered_question_on_the_same_topic_joins_the_open_ticket(client):
    first = ask(client, "My docking station makes a buzzing noise")
    assert first["outcome"] == "escalated"
    second = ask(client, "the docking station now also flickers the external monitor, is that a known issue?")
    assert second["outcome"] == "escalated"
    assert second["ticket"]["id"] == first["ticket"]["id"]  # a new conversation, the same ticket
    assert second["conversation_id"] != first["conversation_id"]
    assert len(client.get("/api/v1/tickets", headers=EMPLOYEE).json()) == 1

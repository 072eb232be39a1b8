"""Escalation end to end through the HTTP API, on SQLite and PostgreSQL."""

import pytest

from tests.escalation.conftest import EMPLOYEE, HR_AGENT, HR_CONFIDENTIAL, IT_AGENT

pytestmark = pytest.mark.integration


def ask(client, message, headers=EMPLOYEE, **extra):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_low_confidence_question_becomes_a_ticket_that_an_agent_answers_and_the_employee_rates(client):
    first = ask(client, "Hello!")
    turn = ask(client, "My docking station makes a buzzing noise", conversation_id=first["conversation_id"])
    assert turn["outcome"] == "escalated"
    ticket = turn["ticket"]
    assert ticket["queue"] == "it" and ticket["number"].startswith("IT-") and ticket["status"] == "new"
    assert ticket["number"] in turn["answer"] and "business hours" in turn["next_steps"]

    # The agent sees the transcript, the bot's sources and a draft.
    queue = client.get("/api/v1/agent/tickets", params={"queue": "it", "status": "new"}, headers=IT_AGENT).json()
    assert [t["id"] for t in queue] == [ticket["id"]]
    full = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=IT_AGENT).json()
    assert [m["content"] for m in full["transcript"] if m["role"] == "user"] == [
        "Hello!", "My docking station makes a buzzing noise"]
    assert full["sources"] and full["sources"][0]["doc_id"].startswith("it/") and full["reason"] == "low_confidence"

    r = client.post(f"/api/v1/agent/tickets/{ticket['id']}/note", json={"body": "Probably the PSU"},
                    headers=IT_AGENT)
    assert r.status_code == 200
    r = client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply",
                    json={"body": "Bring it to the IT desk and we'll swap it today."}, headers=IT_AGENT)
    assert r.json()["status"] == "open" and r.json()["assignee"] == IT_AGENT["X-Ayuda-User"]

    mine = client.get(f"/api/v1/tickets/{ticket['id']}", headers=EMPLOYEE).json()
    bodies = [e["body"] for e in mine["events"]]
    assert "Bring it to the IT desk and we'll swap it today." in bodies
    assert "Probably the PSU" not in bodies and all(e["public"] for e in mine["events"])

    assert client.post(f"/api/v1/tickets/{ticket['id']}/csat", json={"score": 5}, headers=EMPLOYEE).status_code == 409
    r = client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=IT_AGENT)
    assert r.json()["status"] == "resolved"
    r = client.post(f"/api/v1/tickets/{ticket['id']}/csat", json={"score": 5, "comment": "Fast!"}, headers=EMPLOYEE)
    assert r.status_code == 200 and r.json()["csat_score"] == 5
    again = client.post(f"/api/v1/tickets/{ticket['id']}/csat", json={"score": 1}, headers=EMPLOYEE)
    assert again.status_code == 409 and "already rated" in again.json()["error"]["message"]
    assert [t["id"] for t in client.get("/api/v1/tickets", headers=EMPLOYEE).json()] == [ticket["id"]]


def test_sensitive_spanish_message_goes_to_the_confidential_hr_queue(client):
    turn = ask(client, "Mi jefe me acosa y me humilla delante del equipo")
    ticket = turn["ticket"]
    assert turn["outcome"] == "escalated" and turn["language"] == "es"
    assert ticket["queue"] == "hr-confidential" and ticket["number"].startswith("HRC-")
    assert "RR. HH." in turn["answer"] and "confidencial" in turn["next_steps"]
    assert turn["citations"] and turn["citations"][0]["doc_id"] == "hr/anti-harassment.md"

    assert client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=IT_AGENT).status_code == 404
    assert client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=HR_AGENT).status_code == 404
    assert ticket["id"] not in [t["id"] for t in client.get("/api/v1/agent/tickets", headers=HR_AGENT).json()]
    assert client.get("/api/v1/agent/tickets", params={"queue": "hr-confidential"},
                      headers=IT_AGENT).status_code == 403
    seen = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=HR_CONFIDENTIAL).json()
    assert seen["priority"] == "high" and seen["confidential"] is True
    assert client.get("/api/v1/agent/tickets", headers=EMPLOYEE).status_code == 403


@pytest.mark.parametrize("message,language,queue", [
    ("I want to talk to someone about my laptop", "en", "it"),
    ("quiero hablar con una persona sobre mi nómina", "es", "payroll"),
    ("quero falar com um atendente", "pt", "general"),
])
def test_asking_for_a_person_opens_a_ticket_in_the_users_language(client, message, language, queue):
    turn = ask(client, message)
    assert turn["outcome"] == "escalated" and turn["language"] == language and turn["ticket"]["queue"] == queue


def test_ticket_survives_a_server_restart(make_client):
    first = make_client()
    ticket = ask(first, "I want to talk to someone about my laptop")["ticket"]
    first.__exit__(None, None, None)
    second = make_client()
    mine = second.get(f"/api/v1/tickets/{ticket['id']}", headers=EMPLOYEE)
    assert mine.status_code == 200 and mine.json()["number"] == ticket["number"]
    # numbering continues after the restart
    assert ask(second, "I want to talk to a person about VPN access")["ticket"]["number"] != ticket["number"]


def test_double_submit_and_repeated_escalation_open_one_ticket(client):
    key = {"Idempotency-Key": "0f7c2b8e-retry-1"}
    a = ask(client, "My docking station makes a buzzing noise", headers=EMPLOYEE | key)
    b = ask(client, "My docking station makes a buzzing noise", headers=EMPLOYEE | key)
    assert a["ticket"]["id"] == b["ticket"]["id"] and a["message_id"] == b["message_id"]
    again = ask(client, "I want to talk to a person", conversation_id=a["conversation_id"])
    assert again["ticket"]["id"] == a["ticket"]["id"]
    assert len(client.get("/api/v1/tickets", headers=EMPLOYEE).json()) == 1
    events = client.get(f"/api/v1/tickets/{a['ticket']['id']}", headers=EMPLOYEE).json()["events"]
    assert [e["kind"] for e in events] == ["created", "employee_message"]


def test_invalid_transitions_are_rejected_with_a_reason(client):
    ticket = ask(client, "I want to talk to someone about my laptop")["ticket"]
    url = f"/api/v1/agent/tickets/{ticket['id']}/status"
    r = client.post(url, json={"status": "closed"}, headers=IT_AGENT)
    assert r.status_code == 409 and "cannot go from new to closed" in r.json()["error"]["message"]
    assert client.post(url, json={"status": "resolved"}, headers=IT_AGENT).status_code == 200
    assert client.post(url, json={"status": "open"}, headers=IT_AGENT).json()["status"] == "open"  # reopen
    assert client.post(url, json={"status": "resolved"}, headers=IT_AGENT).status_code == 200
    assert client.post(url, json={"status": "closed"}, headers=IT_AGENT).status_code == 200
    r = client.post(url, json={"status": "open"}, headers=IT_AGENT)
    assert r.status_code == 409 and "closed is final" in r.json()["error"]["message"]
    assert client.post(url, json={"status": "done"}, headers=IT_AGENT).status_code == 422
    r = client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "hello?"}, headers=EMPLOYEE)
    assert r.status_code == 409


def test_employee_reply_reopens_a_pending_ticket_and_strangers_see_nothing(client):
    ticket = ask(client, "I want to talk to someone about my laptop")["ticket"]
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "pending"}, headers=IT_AGENT)
    r = client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "It's a Dell"}, headers=EMPLOYEE)
    assert r.json()["status"] == "open"
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers={"X-Ayuda-User": "bob"}).status_code == 404
    assert client.get("/api/v1/agent/tickets/nope", headers=IT_AGENT).status_code == 404


def test_sla_breach_filter(client):
    ticket = ask(client, "I want to talk to someone about my laptop")["ticket"]
    from app.escalation.models import Ticket, now

    services = client.app.state.services
    with services.sessions.begin() as s:
        s.get(Ticket, ticket["id"]).first_response_due = now().replace(year=2020)
    breached = client.get("/api/v1/agent/tickets", params={"sla_breached": True}, headers=IT_AGENT).json()
    assert [t["id"] for t in breached] == [ticket["id"]] and breached[0]["sla_breached"] is True
    assert services.tickets.check_sla() == 1 and services.tickets.check_sla() == 0


def test_sla_check_reads_and_records_only_late_tickets(client):
    """check_sla filters in SQL (it runs every few seconds over every open ticket); the same rule as `breached`."""
    from app.escalation.models import Ticket, now

    ids = [ask(client, text)["ticket"]["id"] for text in (
        "I want to talk to someone about my laptop", "I need a person to help with my payslip",
        "Please connect me with someone about my badge", "Can a human look at my parking permit?")]
    assert len(set(ids)) == 4
    services = client.app.state.services
    past = now().replace(year=2020)
    with services.sessions.begin() as s:
        s.get(Ticket, ids[0]).first_response_due = past  # no first response, due long ago: late
        answered = s.get(Ticket, ids[1])  # answered in time, first response due passed since: not late
        answered.first_response_at, answered.first_response_due = past, past
        s.get(Ticket, ids[2]).resolution_due = past  # resolution due passed: late
    assert services.tickets.check_sla() == 2 and services.tickets.check_sla() == 0
    with services.sessions() as s:
        recorded = {t.id for t in s.query(Ticket).filter(Ticket.sla_breached_at.is_not(None))}
        assert recorded == {ids[0], ids[2]}
        assert [services.tickets.breached(s.get(Ticket, i)) for i in ids] == [True, False, True, False]

"""Export and erasure of a user's data, retention, and masking where texts leave the ticket (SQLite and
PostgreSQL, real app and model)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from sqlalchemy import MetaData, Table, inspect, select
from typer.testing import CliRunner

from tests.privacy.conftest import ADMIN, ask

pytestmark = pytest.mark.integration

ULLA = "ulla.erase@brightwave.example"
VICTOR = "victor.keep@brightwave.example"
U, V = {"X-Ayuda-User": ULLA}, {"X-Ayuda-User": VICTOR}
IBAN = "ES91 2100 0418 4502 0005 1332"
PAYSLIP = b"%PDF-1.4 ZORBLAT-D1 \x00\xff\xfe"  # not text: exported as base64


def agent_of(queue: str) -> dict[str, str]:
    from app.queues import DEFAULT_QUEUES

    return {"X-Ayuda-User": f"agent.{queue}@brightwave.example", "X-Ayuda-Groups": DEFAULT_QUEUES[queue].group}


def every_row(client) -> str:  # type: ignore[no-untyped-def]
    """Every row of every table in the database (not only the ORM's), one line each."""
    engine = client.app.state.services.engine
    lines = []
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            table = Table(name, MetaData(), autoload_with=conn)
            lines += [f"{name}: {tuple(row)}" for row in conn.execute(select(table))]
    return "\n".join(lines)


def attach(client, ticket_id: str, filename: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """A file mailed to the ticket, stored as the e-mail channel stores it."""
    from app.channels.email.models import TicketAttachment

    with client.app.state.services.sessions.begin() as s:
        s.add(TicketAttachment(ticket_id=ticket_id, filename=filename, content_type="application/pdf",
                               size=len(data), data=data, message_id="<m1@brightwave.example>"))


def ullas_history(client) -> dict:  # type: ignore[no-untyped-def]
    """Ulla answers, 👎 with a comment, asks for a person (ticket), mails a file to it, gets a reply, adds a
    message, rates it."""
    answered = ask(client, "How many days of annual leave do I get? ZORBLAT-Q1", U)
    client.post(f"/api/v1/messages/{answered['message_id']}/feedback",
                json={"helpful": False, "comment": "ZORBLAT-C1 not what I asked"}, headers=U)
    escalated = ask(client, f"I want to talk to a person about my payslip, my IBAN is {IBAN} ZORBLAT-Q2", U,
                    conversation_id=answered["conversation_id"])
    ticket = escalated["ticket"]
    attach(client, ticket["id"], "ZORBLAT-F1.pdf", PAYSLIP)
    agent = agent_of(ticket["queue"])
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "Updated, ZORBLAT-R1"}, headers=agent)
    client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Thanks ZORBLAT-M1"}, headers=U)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=agent)
    rated = client.post(f"/api/v1/tickets/{ticket['id']}/csat", json={"score": 4, "comment": "ZORBLAT-S1"},
                        headers=U)
    assert rated.status_code == 200, rated.text
    return ticket


def victors_ticket(client) -> dict:  # type: ignore[no-untyped-def]
    ticket = ask(client, "I want to talk to a person, my laptop screen is broken KEEPME-V1", V)["ticket"]
    attach(client, ticket["id"], "KEEPME-F.pdf", b"KEEPME-D")
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "Bring it to the Tech Bar KEEPME-R"},
                headers=agent_of(ticket["queue"]))
    return ticket


def test_export_has_everything_of_the_user_and_nothing_of_another(client):
    ticket = ullas_history(client)
    victors_ticket(client)
    assert client.get(f"/api/v1/admin/privacy/users/{ULLA}/export", headers=U).status_code == 403
    response = client.get(f"/api/v1/admin/privacy/users/{ULLA}/export", headers=ADMIN)
    assert response.status_code == 200, response.text
    data = response.json()
    text = json.dumps(data, ensure_ascii=False)
    for mine in ("ZORBLAT-Q1", "ZORBLAT-Q2", IBAN, "ZORBLAT-C1", "ZORBLAT-R1", "ZORBLAT-M1", "ZORBLAT-S1"):
        assert mine in text
    assert [t["number"] for t in data["tickets"]] == [ticket["number"]]
    assert {"helpful": False, "comment": "ZORBLAT-C1 not what I asked"}.items() <= data["feedback"][0].items()
    [attached] = data["tickets"][0]["attachments"]
    assert {k: v for k, v in attached.items() if k not in ("id", "created_at")} == {
        "filename": "ZORBLAT-F1.pdf", "content_type": "application/pdf", "size": len(PAYSLIP),
        "data_base64": base64.b64encode(PAYSLIP).decode("ascii")}
    assert dt.datetime.fromisoformat(attached["created_at"]).tzinfo is not None
    assert "KEEPME" not in text and VICTOR not in text
    bad = client.get("/api/v1/admin/privacy/users/not a user!/export", headers=ADMIN)
    assert bad.status_code == 400 and "user must be" in bad.json()["error"]["message"]


def test_erase_leaves_no_trace_in_any_table_and_keeps_other_tickets(client):
    from app.privacy.models import AuditEvent

    ullas_history(client)
    victor = victors_ticket(client)
    client.get(f"/api/v1/admin/privacy/users/{ULLA}/export", headers=ADMIN)  # an audit row naming her
    agent = agent_of(victor["queue"])
    before = client.get(f"/api/v1/agent/tickets/{victor['id']}", headers=agent).json()
    assert ULLA in every_row(client) and "ZORBLAT" in every_row(client)

    assert client.post(f"/api/v1/admin/privacy/users/{ULLA}/erase", headers=U).status_code == 403
    response = client.post(f"/api/v1/admin/privacy/users/{ULLA}/erase", headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["conversations"] == 1 and result["tickets"] == 1 and result["pseudonym"].startswith("anon-")

    rows = every_row(client)
    assert ULLA not in rows and "ulla.erase" not in rows
    assert "ZORBLAT" not in rows and IBAN not in rows and IBAN.replace(" ", "") not in rows
    with client.app.state.services.sessions() as s:
        audit = s.get(AuditEvent, result["audit_id"])
        assert (audit.kind, audit.actor, audit.subject) == ("privacy.erase", ADMIN["X-Ayuda-User"],
                                                           result["pseudonym"])
    assert client.get(f"/api/v1/agent/tickets/{victor['id']}", headers=agent).json() == before
    assert client.get("/api/v1/tickets", headers=U).json() == []
    again = client.get(f"/api/v1/admin/privacy/users/{ULLA}/export", headers=ADMIN).json()
    assert again["conversations"] == [] and again["tickets"] == []


def test_cli_exports_and_erases_a_user(client, db_url, tmp_path):
    from app.cli import app

    ullas_history(client)
    victors_ticket(client)
    runner = CliRunner()
    env = {"AYUDA_DATABASE_URL": db_url}
    out_file = tmp_path / "ulla.json"
    exported = runner.invoke(app, ["privacy", "export", "--user", ULLA, "-o", str(out_file)], env=env)
    assert exported.exit_code == 0, exported.output
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["user"] == ULLA and len(data["tickets"]) == 1 and "KEEPME" not in json.dumps(data)
    erased = runner.invoke(app, ["privacy", "erase", "--user", ULLA, "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout.strip().splitlines()[-1])["tickets"] == 1
    rows = every_row(client)
    assert ULLA not in rows and "ZORBLAT" not in rows and "KEEPME-V1" in rows


def _age(client, conversation_id: str, days: int) -> None:  # type: ignore[no-untyped-def]
    from app.chat.models import Conversation, Message
    from app.escalation.models import Ticket

    delta = dt.timedelta(days=days)
    with client.app.state.services.sessions.begin() as s:
        conv = s.get(Conversation, conversation_id)
        conv.created_at, conv.updated_at = conv.created_at - delta, conv.updated_at - delta
        for m in s.scalars(select(Message).where(Message.conversation_id == conversation_id)):
            m.created_at -= delta
        for t in s.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)):
            t.created_at, t.updated_at = t.created_at - delta, t.updated_at - delta


def test_retention_anonymises_closed_conversations_after_the_period(client, db_url):
    from app.chat.models import Conversation, Message
    from app.escalation.models import Ticket
    from app.privacy.service import PrivacyService
    from app.privacy.subject import EXPIRED

    services = client.app.state.services
    assert services.settings.retention_days == 365
    closed = ask(client, "I want to talk to a person, call me at 612 345 678 OLDCLOSED", U)
    agent = agent_of(closed["ticket"]["queue"])
    for status in ("resolved", "closed"):
        client.post(f"/api/v1/agent/tickets/{closed['ticket']['id']}/status", json={"status": status},
                    headers=agent)
    answered = ask(client, "How do I set up the VPN? OLDANSWERED", U)
    still_open = ask(client, "I want to talk to a person about my contract OLDOPEN", V)
    recent = ask(client, "How do I reset my password? RECENT", V)
    for turn in (closed, answered, still_open):
        _age(client, turn["conversation_id"], 400)

    assert PrivacyService(services.settings.model_copy(update={"retention_days": 0}),
                          services.sessions).retention() == {"conversations": 0, "tickets": 0}
    counts = services.privacy.retention()
    assert counts == {"conversations": 2, "tickets": 1}
    with services.sessions() as s:
        for turn in (closed, answered):
            conv = s.get(Conversation, turn["conversation_id"])
            assert conv.user_id.startswith("anon-")
            assert {m.content for m in s.scalars(select(Message).where(Message.conversation_id == conv.id))} == {
                EXPIRED}
        ticket = s.get(Ticket, closed["ticket"]["id"])
        assert ticket.subject == EXPIRED and ticket.requester.startswith("anon-") and ticket.transcript == []
        for turn in (still_open, recent):
            assert s.get(Conversation, turn["conversation_id"]).user_id == VICTOR
    rows = every_row(client)
    assert "OLDCLOSED" not in rows and "612 345 678" not in rows and "OLDANSWERED" not in rows
    assert "OLDOPEN" in rows and "RECENT" in rows
    assert services.privacy.retention() == {"conversations": 0, "tickets": 0}  # idempotent


def test_personal_data_is_masked_outside_the_ticket(client):
    from app.escalation.models import OutboxMessage

    question = f"I want to talk to a person: change my IBAN to {IBAN} and call me on +34 612 345 678"
    turn = ask(client, question, U)
    ticket = turn["ticket"]
    agent = agent_of(ticket["queue"])
    assert client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=agent).json()["subject"] == question
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=U).json()["subject"] == question
    with client.app.state.services.sessions() as s:
        payloads = [o.payload for o in s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))]
    assert payloads and all(IBAN not in json.dumps(p) and "612 345 678" not in json.dumps(p) for p in payloads)
    assert "[IBAN]" in payloads[0]["text"]

    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply",
                json={"body": f"Done: payroll now pays into {IBAN}."}, headers=agent)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=agent)
    faq = client.post(f"/api/v1/agent/tickets/{ticket['id']}/publish-faq", json={"title": "Change bank details"},
                      headers=agent)
    assert faq.status_code == 200, faq.text
    assert IBAN not in faq.json()["content"] and "[IBAN]" in faq.json()["content"]

    answered = ask(client, f"How do I change my bank details? My new IBAN is {IBAN}", U)
    client.post(f"/api/v1/messages/{answered['message_id']}/feedback",
                json={"helpful": False, "comment": "call me at 612 345 678"}, headers=U)
    analytics = client.get("/api/v1/admin/analytics", headers=ADMIN)
    text = json.dumps(analytics.json(), ensure_ascii=False)
    assert IBAN not in text and "612 345 678" not in text and "[IBAN]" in text and "[phone]" in text
    for section in ("negative_feedback", "content_gaps"):
        csv = client.get("/api/v1/admin/analytics.csv", params={"section": section}, headers=ADMIN).text
        assert IBAN not in csv and "612 345 678" not in csv

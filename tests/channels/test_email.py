"""The e-mail channel end to end: mails delivered into a real Dovecot mailbox, polled over IMAP, answered
through the outbox to a real SMTP receiver (aiosmtpd), with the real model over a small corpus."""

from __future__ import annotations

import imaplib

import pytest
from sqlalchemy import select

from tests.channels.conftest import HELP, counted, mail, reply_to

pytestmark = pytest.mark.integration
ANA = "ana.garcia@brightwave.example"
IT_AGENT = {"X-Ayuda-User": "ivan.it@brightwave.example", "X-Ayuda-Groups": "it-agents"}


def poll(client) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One pass of the poller, then the outbox delivers what it queued."""
    services = client.app.state.services
    counts = dict(services.mail.poll_once())
    services.outbox.run_once(limit=100)
    return counts


def rows(client, model, **where):  # type: ignore[no-untyped-def]
    with client.app.state.services.sessions() as s:
        q = select(model).filter_by(**where)
        return list(s.scalars(q).all())


def body(msg) -> str:  # type: ignore[no-untyped-def]
    return msg.get_payload(decode=True).decode()


def test_a_confident_question_is_answered_by_a_threaded_reply_citing_the_document(mail_app, imap, smtp):
    from app.chat.models import Conversation, Message

    question = mail(ANA, "Password", "How do I reset my password?")
    imap.append(question.as_bytes())
    assert poll(mail_app) == {"answered": 1}
    [reply] = smtp[1].to(ANA)
    assert reply["From"] == HELP
    assert reply["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in reply["References"]
    assert reply["Subject"] == "Re: Password"
    assert reply["Auto-Submitted"] == "auto-replied"  # other robots must not answer it
    text = body(reply)
    assert "[1] Password Reset and Account Lockout" in text
    assert "intranet.brightwave.example/it/password-reset" in text
    assert "Account Unlock" not in text  # the IT-staff runbook is not for this sender's groups
    [conv] = rows(mail_app, Conversation, user_id=ANA)
    assert conv.channel == "email"
    user_turn = rows(mail_app, Message, conversation_id=conv.id, role="user")[0]
    assert user_turn.content == "How do I reset my password?"
    assert imap.flagged("$AyudaDone") == 1


def test_a_mail_turn_is_counted_in_the_metrics_as_a_web_turn_is(mail_app, imap, smtp):
    imap.append(mail(ANA, "Password", "How do I reset my password?").as_bytes())
    assert poll(mail_app) == {"answered": 1}
    assert counted(mail_app, "ayuda_chat_turns_total") == 1
    assert counted(mail_app, "ayuda_chat_turns_total", outcome="answered", language="en") == 1
    assert counted(mail_app, "ayuda_chat_seconds_count") == 1


def test_an_unclear_mail_opens_a_ticket_and_replies_to_the_ticket_thread_land_on_it(mail_app, imap, smtp):
    from app.channels.email.models import ProcessedMail
    from app.escalation.models import Ticket, TicketEvent

    first = mail(ANA, "Laptop", "I want to talk to a person about my laptop, please.")
    imap.append(first.as_bytes())
    assert poll(mail_app) == {"ticket": 1}
    [ticket] = rows(mail_app, Ticket, requester=ANA)
    assert ticket.channel == "email"
    [opened] = smtp[1].to(ANA)  # one mail: the reply says it (no separate "ticket created" mail)
    assert f"ticket {ticket.number}" in body(opened)
    assert f"[{ticket.number}]" in opened["Subject"]
    assert opened["In-Reply-To"] == first["Message-ID"]

    # The employee answers that mail: it lands on the ticket, the bot does not answer it.
    imap.append(reply_to(opened, ANA, "It is the Dell one, the screen flickers.\n\n> quoted earlier text").as_bytes())
    assert poll(mail_app) == {"ticket_reply": 1}
    events = rows(mail_app, TicketEvent, ticket_id=ticket.id, kind="employee_message")
    assert [e.body for e in events] == ["It is the Dell one, the screen flickers."]
    assert events[0].data["channel"] == "email"
    assert len(smtp[1].to(ANA)) == 1

    # An agent replies in the console: the employee gets it by mail, in the same thread.
    long_reply = "Bring it to the IT desk. " + "We will swap the screen while you wait. " * 20 + "Ivan"
    r = mail_app.post(f"/api/v1/agent/tickets/{ticket.id}/reply", json={"body": long_reply}, headers=IT_AGENT)
    assert r.status_code == 200, r.text
    assert r.json()["channel"] == "email"
    mail_app.app.state.services.outbox.run_once()
    agent_mail = smtp[1].to(ANA)[-1]
    assert long_reply in body(agent_mail)  # whole, not the notification's first 500 characters
    assert agent_mail["In-Reply-To"] and agent_mail["In-Reply-To"] in {
        p.message_id for p in rows(mail_app, ProcessedMail, ticket_id=ticket.id)}
    assert first["Message-ID"] in agent_mail["References"]
    assert f"[{ticket.number}]" in agent_mail["Subject"]
    assert "Auto-Submitted" not in agent_mail  # a person wrote it

    # ...and the employee's answer to the agent's mail lands on the ticket too.
    imap.append(reply_to(agent_mail, ANA, "Thanks, I'll be there at 3.").as_bytes())
    assert poll(mail_app) == {"ticket_reply": 1}
    assert len(rows(mail_app, TicketEvent, ticket_id=ticket.id, kind="employee_message")) == 2
    listed = mail_app.get("/api/v1/agent/tickets", headers=IT_AGENT).json()
    assert [t["channel"] for t in listed] == ["email"]


def test_html_only_mail_is_reduced_to_text_and_quotes_and_signature_are_cut(mail_app, imap, smtp):
    from app.chat.models import Message

    html = mail(ANA, "VPN", html="<html><body><p>How do I <b>set up</b> the VPN?</p>"
                                 "<blockquote>an old message</blockquote></body></html>")
    quoted = mail("bruno.silva@brightwave.example", "Re: Payslips",
                  "Where can I download my payslips?\n\nThanks,\nBruno\n-- \nBruno Silva | Payroll fan\n\n"
                  "On Mon, 1 Dec 2026 at 10:00, Ayuda <help@brightwave.example> wrote:\n> Hello\n> old answer\n")
    imap.append(html.as_bytes())
    imap.append(quoted.as_bytes())
    assert poll(mail_app) == {"answered": 2}
    questions = sorted(m.content for m in rows(mail_app, Message, role="user"))
    assert questions == ["How do I set up the VPN?", "Where can I download my payslips?"]


def test_attachments_are_stored_on_the_ticket_and_an_oversized_one_is_refused(mail_app, imap, smtp):
    from app.channels.email.models import TicketAttachment
    from app.escalation.models import Ticket

    msg = mail(ANA, "Broken screen", "I need a person to look at my broken laptop screen.",
               attachments=[("photo.jpg", b"\xff\xd8small photo"), ("video.mov", b"x" * 50_000)])
    imap.append(msg.as_bytes())
    assert poll(mail_app) == {"ticket": 1}
    [ticket] = rows(mail_app, Ticket, requester=ANA)
    [kept] = rows(mail_app, TicketAttachment, ticket_id=ticket.id)
    assert (kept.filename, kept.data) == ("photo.jpg", b"\xff\xd8small photo")
    [reply] = smtp[1].to(ANA)
    assert "video.mov (50.0 KB) was not kept" in body(reply)
    detail = mail_app.get(f"/api/v1/agent/tickets/{ticket.id}", headers=IT_AGENT).json()
    assert [a["filename"] for a in detail["attachments"]] == ["photo.jpg"]
    r = mail_app.get(f"/api/v1/agent/tickets/{ticket.id}/attachments/{kept.id}", headers=IT_AGENT)
    assert r.status_code == 200 and r.content == b"\xff\xd8small photo"
    assert "attachment" in r.headers["content-disposition"]


def test_automatic_mails_our_own_and_foreign_domains_are_never_answered(mail_app, imap, smtp):
    from app.channels.email.models import ProcessedMail
    from app.chat.models import Conversation

    bounce = (b"From: MAILER-DAEMON@brightwave.example\r\nTo: help@brightwave.example\r\nSubject: Undelivered\r\n"
              b"Message-ID: <bounce-1@brightwave.example>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n--XX\r\n"
              b"Content-Type: text/plain\r\n\r\nDelivery failed.\r\n--XX--\r\n")
    for raw in [
        mail(ANA, "Out of office", "I am away until Monday.", headers={"Auto-Submitted": "auto-replied"}).as_bytes(),
        mail(ANA, "Newsletter", "How do I reset my password?", headers={"Precedence": "bulk"}).as_bytes(),
        bounce,
        mail(HELP, "Re: Password", "our own answer, looped back").as_bytes(),
        mail("someone@elsewhere.example", "Password", "How do I reset my password?").as_bytes(),
    ]:
        imap.append(raw)
    assert poll(mail_app) == {"ignored": 5}
    assert smtp[1].raw == []
    assert rows(mail_app, Conversation) == []
    reasons = sorted(p.reason for p in rows(mail_app, ProcessedMail))
    assert reasons == ["auto_reply", "bounce", "bulk", "foreign_domain", "own_mail"]
    assert imap.flagged("$AyudaDone") == 5  # handled: not fetched again


def test_a_sender_over_the_rate_limit_is_not_answered_again_and_again(mail_app, imap, smtp):
    for i in range(7):  # AYUDA_MAIL_RATE_PER_SENDER is 5/hour in these tests
        imap.append(mail(ANA, f"Question {i}", "How do I reset my password?").as_bytes())
    imap.append(mail("bruno.silva@brightwave.example", "VPN", "How do I set up the VPN?").as_bytes())
    counts = poll(mail_app)
    assert counts == {"answered": 6, "limited": 2}
    assert len(smtp[1].to(ANA)) == 5
    assert len(smtp[1].to("bruno.silva@brightwave.example")) == 1


def test_a_mail_is_handled_once_across_poll_passes_and_restarts(mail_app, imap, smtp):
    from app.chat.models import Conversation

    question = mail(ANA, "Password", "How do I reset my password?")
    imap.append(question.as_bytes())
    assert poll(mail_app) == {"answered": 1}
    assert poll(mail_app) == {}  # flagged on the server: not fetched again
    # The poller died after storing the outcome but before flagging (simulated: the flag is removed), and the
    # mail server delivered the same mail twice.
    with imaplib.IMAP4("127.0.0.1", imap.port) as box:
        box.login(imap.user, imap.password)
        box.select("INBOX")
        box.store("1:*", "-FLAGS", "($AyudaDone)")
    imap.append(question.as_bytes())
    assert poll(mail_app) == {"duplicate": 2}
    assert len(smtp[1].to(ANA)) == 1
    assert len(rows(mail_app, Conversation)) == 1
    assert imap.flagged("$AyudaDone") == 2


def test_a_failed_delivery_leaves_the_mail_for_the_next_pass(mail_app, imap, smtp, monkeypatch):
    from app.channels.email.models import ProcessedMail
    from app.chat.models import Message

    services = mail_app.app.state.services
    intake = services.mail.intake
    real = intake.chat.turn
    monkeypatch.setattr(intake.chat, "turn", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db down")))
    imap.append(mail(ANA, "Password", "How do I reset my password?").as_bytes())
    assert poll(mail_app) == {"error": 1}
    assert imap.flagged("$AyudaDone") == 0 and rows(mail_app, ProcessedMail) == []
    monkeypatch.setattr(intake.chat, "turn", real)
    assert poll(mail_app) == {"answered": 1}
    assert len(smtp[1].to(ANA)) == 1
    assert len(rows(mail_app, Message, role="user")) == 1


def test_analytics_count_conversations_by_channel(mail_app, imap, smtp):
    imap.append(mail(ANA, "Password", "How do I reset my password?").as_bytes())
    imap.append(mail(ANA, "Laptop", "I want to talk to a person about my laptop, please.").as_bytes())
    poll(mail_app)
    r = mail_app.post("/api/v1/chat", json={"message": "How do I set up the VPN?"},
                      headers={"X-Ayuda-User": "bruno.silva@brightwave.example"})
    assert r.status_code == 200
    admin = {"X-Ayuda-User": "olga.admin@brightwave.example", "X-Ayuda-Groups": "admins"}
    data = mail_app.get("/api/v1/admin/analytics?days=7", headers=admin).json()
    channels = {c["channel"]: c for c in data["channels"]}
    assert channels["email"]["conversations"] == 2 and channels["email"]["tickets"] == 1
    assert channels["email"]["answered"] == 1 and channels["email"]["escalated"] == 1
    assert channels["web"]["conversations"] == 1 and channels["web"]["tickets"] == 0
    csv = mail_app.get("/api/v1/admin/analytics.csv?section=channels&days=7", headers=admin)
    assert csv.status_code == 200, csv.text
    assert csv.text.splitlines()[0].startswith("channel,conversations")


@pytest.mark.postgres
def test_a_ticket_thread_on_postgresql(mail_app_pg, imap, smtp):
    from app.escalation.models import Ticket, TicketEvent

    first = mail(ANA, "Laptop", "I want to talk to a person about my laptop, please.")
    imap.append(first.as_bytes())
    assert poll(mail_app_pg) == {"ticket": 1}
    [ticket] = rows(mail_app_pg, Ticket, requester=ANA)
    assert ticket.channel == "email"
    [opened] = smtp[1].to(ANA)
    imap.append(reply_to(opened, ANA, "It is the Dell one.").as_bytes())
    imap.append(first.as_bytes())  # delivered twice
    assert poll(mail_app_pg) == {"ticket_reply": 1, "duplicate": 1}
    assert [e.body for e in rows(mail_app_pg, TicketEvent, ticket_id=ticket.id, kind="employee_message")] == [
        "It is the Dell one."]

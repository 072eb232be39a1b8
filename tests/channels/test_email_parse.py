"""Reading a mail without any server: what the employee wrote, what it answers, whether it is automatic."""

from __future__ import annotations

import pytest

from app.channels.email.parse import parse, question_subject, strip_reply
from tests.channels.conftest import mail


def test_quoted_history_and_signatures_are_cut_in_english_spanish_and_portuguese() -> None:
    assert strip_reply("How many days off do I have?\n\nOn Mon, 1 Dec 2026 at 10:00, Ayuda <h@x.example> wrote:\n"
                       "> Hello\n") == "How many days off do I have?"
    assert strip_reply("¿Cuántos días me quedan?\n\nEl lun, 1 dic 2026 a las 10:00, Ayuda <h@x.example> "
                       "escribió:\n> Hola\n") == "¿Cuántos días me quedan?"
    assert strip_reply("Quantos dias eu tenho?\n\nEm seg., 1 de dez. de 2026 às 10:00, Ayuda <h@x.example> "
                       "escreveu:\n> Olá\n") == "Quantos dias eu tenho?"
    assert strip_reply("Still locked out.\n\n-- \nAna García\nBrightwave Madrid\n") == "Still locked out."
    assert strip_reply("Still locked out.\n\nSent from my iPhone") == "Still locked out."
    assert strip_reply("Still locked out.\n\n-----Original Message-----\nFrom: Ayuda\n") == "Still locked out."


def test_an_html_only_mail_is_read_as_text() -> None:
    m = parse(mail("ana@brightwave.example", "VPN", html="<div><p>How do I <b>connect</b> to the <i>VPN</i>?</p>"
                   "<script>alert(1)</script></div>").as_bytes())
    assert m.text == "How do I connect to the VPN?"


def test_threading_ids_nearest_first_and_subject_prefixes() -> None:
    m = parse(mail("Ana <Ana@Brightwave.example>", "RE: Fwd: [IT-0042] Laptop", "ok",
                   headers={"In-Reply-To": "<c@x>", "References": "<a@x> <b@x> <c@x>"}).as_bytes())
    assert m.sender == "ana@brightwave.example" and m.domain == "brightwave.example"
    assert m.referenced == ["<c@x>", "<b@x>", "<a@x>"]
    assert question_subject(m.subject) == "Laptop"


def test_automatic_mails_are_recognised() -> None:
    def kind(**headers: str) -> str | None:
        return parse(mail("ana@brightwave.example", "x", "x", headers=headers).as_bytes()).automatic

    assert kind() is None
    assert kind(**{"Auto-Submitted": "no"}) is None
    assert kind(**{"Auto-Submitted": "auto-generated"}) == "auto_reply"
    assert kind(**{"X-Autoreply": "yes"}) == "auto_reply"
    assert kind(Precedence="junk") == "bulk"
    assert kind(**{"Return-Path": "<>"}) == "bounce"
    assert parse(mail("postmaster@brightwave.example", "x", "x").as_bytes()).automatic == "bounce"


def test_a_mail_without_message_id_gets_a_stable_one() -> None:
    raw = b"From: ana@brightwave.example\r\nSubject: hi\r\n\r\nHow do I reset my password?\r\n"
    assert parse(raw).message_id == parse(raw).message_id != parse(raw + b"again\r\n").message_id


def test_mail_poll_says_how_to_turn_the_channel_on_when_it_is_off(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from app.cli import app

    monkeypatch.delenv("AYUDA_MAIL_IMAP_HOST", raising=False)
    result = CliRunner().invoke(app, ["mail", "poll"])
    assert result.exit_code == 2
    assert "AYUDA_MAIL_IMAP_HOST" in result.output


def test_the_channel_refuses_to_start_without_allowed_domains_or_smtp() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="AYUDA_MAIL_ALLOWED_DOMAINS"):
        Settings(mail_imap_host="imap.example", mail_imap_user="help", smtp_host="smtp.example")
    with pytest.raises(ValidationError, match="AYUDA_SMTP_HOST"):
        Settings(mail_imap_host="imap.example", mail_imap_user="help", mail_allowed_domains="brightwave.example")
    ok = Settings(mail_imap_host="imap.example", mail_imap_user="help", smtp_host="smtp.example",
                  mail_allowed_domains="Brightwave.example, @brightwave.es")
    assert ok.mail_domains == {"brightwave.example", "brightwave.es"}

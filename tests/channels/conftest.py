"""E-mail channel tests: a real Dovecot IMAP server and a real SMTP receiver (aiosmtpd) on loopback, the real
model over a small corpus (a few IT/HR documents, one of them for IT staff only)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.conftest import CORPUS, make_settings
from tests.support.dovecot import DOVECOT, Dovecot, free_port

DOCS = ["it/password-reset.md", "it/admin-runbook-account-unlock.md", "it/vpn-setup.md", "hr/annual-leave.md",
        "payroll/payslips.md"]
HELP = "help@brightwave.example"
PG_URL = os.environ.get("AYUDA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, embedder) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    from tests.conftest import cached_index

    corpus = tmp_path_factory.mktemp("mail-corpus")
    for doc in DOCS:
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, corpus / doc)
    index_dir = tmp_path_factory.mktemp("mail") / "index"
    shutil.copytree(cached_index(corpus, embedder), index_dir)  # built once per content
    return corpus, index_dir


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    server = Dovecot(user=HELP).start()
    yield server
    server.stop()


class Inbox:
    """What the SMTP receiver got, as parsed mails."""

    def __init__(self) -> None:
        self.raw: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.raw.append(message_from_bytes(message.as_bytes()))

    def to(self, address: str) -> list[Message]:
        return [m for m in self.raw if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    inbox = Inbox()

    class Handler(MessageHandler):
        def handle_message(self, message: Message) -> None:
            inbox.handle_message(message)

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def _mail_app(tmp_path, small_index, embedder, imap, smtp, **extra):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    corpus, index_dir = small_index
    settings = make_settings(
        tmp_path, index_dir, embedder, corpus_dir=corpus, run_outbox_worker=False, smtp_host="127.0.0.1",
        smtp_port=smtp[0], mail_imap_host="127.0.0.1", mail_imap_port=imap.port, mail_imap_ssl=False,
        mail_imap_user=imap.user, mail_imap_password=imap.password, mail_from=HELP,
        mail_allowed_domains="brightwave.example", mail_poll_seconds=0, mail_rate_per_sender="5/hour",
        mail_max_attachment_bytes=20_000, **extra)
    return TestClient(create_app(settings, embedder=embedder))


@pytest.fixture
def mail_app(tmp_path, small_index, embedder, imap, smtp):  # type: ignore[no-untyped-def]
    """A running app with the e-mail channel on (the periodic poll off: tests poll when they want)."""
    with _mail_app(tmp_path, small_index, embedder, imap, smtp) as client:
        yield client


@pytest.fixture
def mail_app_pg(tmp_path, small_index, embedder, imap, smtp):  # type: ignore[no-untyped-def]
    """The same on PostgreSQL, in a database of its own (created and dropped here)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ayuda_mail_{uuid.uuid4().hex[:8]}"
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # CI starts PostgreSQL; a developer machine without it says so loudly
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {e}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with _mail_app(tmp_path, small_index, embedder, imap, smtp, database_url=url) as client:
        yield client
    client.app.state.services.engine.dispose()
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def mail(sender: str, subject: str, body: str | None = None, *, html: str | None = None,
         headers: dict[str, str] | None = None, attachments: list[tuple[str, bytes]] | None = None,
         message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, HELP, subject
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2])
    for k, v in (headers or {}).items():
        msg[k] = v
    if body is not None:
        msg.set_content(body)
    if html is not None:
        if body is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for name, data in attachments or []:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def reply_to(original: Message, sender: str, body: str) -> EmailMessage:
    """The employee's reply to one of our mails, threaded the way mail clients do."""
    refs = " ".join(f"{original.get('References', '')} {original['Message-ID']}".split())
    return mail(sender, f"Re: {original['Subject']}", body,
                headers={"In-Reply-To": original["Message-ID"], "References": refs})


def counted(client, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    """A sample of GET /metrics, summed over its series with these labels."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(client.get("/metrics").text)
    return sum(s.value for f in families for s in f.samples if s.name == name and labels.items() <= s.labels.items())

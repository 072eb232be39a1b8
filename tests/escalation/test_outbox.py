"""Notifications reach a real webhook receiver, a Slack-style receiver and an SMTP server on loopback,
with retries after the receiver was down; nothing is lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.escalation.conftest import EMPLOYEE, IT_AGENT

pytestmark = pytest.mark.integration
SECRET = "test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A real HTTP server on loopback that records POSTs (the webhook and the Slack endpoint)."""

    def __init__(self, port: int) -> None:
        self.port, self.requests = port, []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages = []

        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            self.messages.append(message)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_events_are_delivered_to_webhook_slack_and_email_with_retry(make_client, smtp):
    controller, inbox = smtp
    port = free_port()  # the receiver is down at first
    client = make_client(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret=SECRET,
                         slack_webhook_url=f"http://127.0.0.1:{port}/slack", smtp_host="127.0.0.1",
                         smtp_port=controller.port, outbox_backoff_seconds=0)
    services = client.app.state.services
    ticket = client.post("/api/v1/chat", json={"message": "I want to talk to someone about my laptop"},
                         headers=EMPLOYEE).json()["ticket"]
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "On it."}, headers=IT_AGENT)

    assert services.outbox.run_once() == 2  # only the two emails get through: the HTTP receiver is down
    from app.escalation.models import OutboxMessage

    with services.sessions() as s:
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert {m.channel for m in waiting} == {"webhook", "slack"} and len(waiting) == 4
        assert all(m.attempts == 1 and "ConnectError" in (m.last_error or "") for m in waiting)

    receiver = Receiver(port)
    try:
        assert services.outbox.run_once() == 4
    finally:
        receiver.stop()
    hooks = [r for r in receiver.requests if r[0] == "/hook"]
    slack = [r for r in receiver.requests if r[0] == "/slack"]
    assert [json.loads(b)["event"] for _, _, b in hooks] == ["ticket.created", "ticket.agent_reply"]
    for _, headers, body in hooks:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Ayuda-Signature"] == expected
    assert json.loads(hooks[0][2])["ticket"]["number"] == ticket["number"]
    assert len(slack) == 2 and "text" in json.loads(slack[1][2])
    assert sorted(m["To"] for m in inbox.messages) == [EMPLOYEE["X-Ayuda-User"]] * 2
    assert any("On it." in m.get_payload() for m in inbox.messages)
    with services.sessions() as s:
        assert {m.status for m in s.scalars(select(OutboxMessage)).all()} == {"delivered"}


def test_confidential_tickets_never_reach_slack_and_failures_are_kept(make_client):
    port = free_port()
    client = make_client(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret=SECRET,
                         slack_webhook_url=f"http://127.0.0.1:{port}/slack", outbox_max_attempts=2,
                         outbox_backoff_seconds=0)
    services = client.app.state.services
    client.post("/api/v1/chat", json={"message": "My manager keeps harassing me"}, headers=EMPLOYEE)
    from app.escalation.models import OutboxMessage

    services.outbox.run_once()
    services.outbox.run_once()
    with services.sessions() as s:
        rows = s.scalars(select(OutboxMessage)).all()
        assert [(m.channel, m.status, m.attempts) for m in rows] == [("webhook", "failed", 2)]
    assert services.outbox.retry_failed() == 1
    receiver = Receiver(port)
    try:
        assert services.outbox.run_once() == 1
    finally:
        receiver.stop()


def test_the_background_worker_delivers_without_being_asked(make_client):
    port = free_port()
    receiver = Receiver(port)
    try:
        client = make_client(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret=SECRET,
                             run_outbox_worker=True, outbox_poll_seconds=0.1)
        client.post("/api/v1/chat", json={"message": "I want to talk to someone"}, headers=EMPLOYEE)
        import time

        deadline = time.time() + 10
        while not receiver.requests and time.time() < deadline:
            time.sleep(0.05)
        assert receiver.requests and json.loads(receiver.requests[0][2])["event"] == "ticket.created"
    finally:
        receiver.stop()

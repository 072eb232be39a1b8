"""The Slack app end to end: the real app (real model, small index, SQLite) behind Slack-signed requests, and a
real HTTP server on loopback standing in for the Slack Web API (tests/support/fake_slack.py)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.channels.conftest import counted
from tests.conftest import CORPUS, make_settings
from tests.support.fake_slack import BOT_USER, FakeSlack, Posted, action_body, event_body, sign, slack_user

pytestmark = pytest.mark.integration

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-0000-test-token"
DOCS = ["it/vpn-setup.md", "it/password-reset.md", "hr/anti-harassment.md", "hr/annual-leave.md",
        "it/admin-runbook-account-unlock.md"]
ANA, BRUNO, CARLA, GUEST, DANI, ERIN = "U0ANA", "U0BRUNO", "U0CARLA", "U0GUEST", "U0DANI", "U0ERIN"
AGENT = {"X-Ayuda-User": "ivan.it@brightwave.example", "X-Ayuda-Groups": "it-agents,hr-agents,general-agents"}


@pytest.fixture(scope="module")
def slack_index(tmp_path_factory, embedder):  # type: ignore[no-untyped-def]
    from tests.conftest import cached_index

    base = tmp_path_factory.mktemp("slack")
    for doc in DOCS:
        (base / "corpus" / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, base / "corpus" / doc)
    shutil.copytree(cached_index(base / "corpus", embedder), base / "index")  # built once per content
    return base


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    users = {ANA: slack_user(ANA, "ana.garcia@brightwave.example"),
             BRUNO: slack_user(BRUNO, "Bruno.Silva@brightwave.example"),
             CARLA: slack_user(CARLA, "carla.ruiz@brightwave.example"),
             DANI: slack_user(DANI, "dani.it@brightwave.example"),
             ERIN: slack_user(ERIN, "erin.erase@brightwave.example"),
             GUEST: slack_user(GUEST, "someone@partner.example")}
    server = FakeSlack(TOKEN, users)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(slack_index, embedder, fake):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = make_settings(
        slack_index, slack_index / "index", embedder, corpus_dir=slack_index / "corpus", run_outbox_worker=False,
        slack_signing_secret=SECRET, slack_bot_token=TOKEN, slack_api_url=fake.url,
        slack_email_domains="brightwave.example", slack_user_groups={"dani.it@brightwave.example": ["it-staff"]},
        outbox_backoff_seconds=0)
    with TestClient(create_app(settings, embedder=embedder)) as c:
        yield c


def send_event(client, event: dict[str, Any], event_id: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    body = event_body(event, event_id)
    return client.post("/api/v1/slack/events", content=body,
                       headers={"content-type": "application/json", **sign(SECRET, body), **headers})


def click(client, slack_user_id: str, action_id: str, message: Posted) -> None:  # type: ignore[no-untyped-def]
    element = message.action(action_id)
    assert element is not None, f"no {action_id} button in {message.block_text()[:300]}"
    body = action_body(slack_user_id, action_id, element["value"], message)
    r = client.post("/api/v1/slack/interactions", content=body,
                    headers={"content-type": "application/x-www-form-urlencoded", **sign(SECRET, body)})
    assert r.status_code == 200, r.text


_ts = iter(range(1, 10**6))


def ts() -> str:
    return f"1764900000.{next(_ts):06d}"


def dm(user: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D" + user, "user": user, "text": text, "ts": ts(),
            **({"thread_ts": thread_ts} if thread_ts else {})}


def mention(user: str, channel: str, text: str) -> dict[str, Any]:
    return {"type": "app_mention", "channel": channel, "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts()}


def replies(fake: FakeSlack, channel: str, thread_ts: str, count: int = 1) -> list[Posted]:
    def enough(posted: list[Posted]) -> list[Posted] | None:
        found = [p for p in posted if p.channel == channel and p.thread_ts == thread_ts]
        return found[:count] if len(found) >= count else None

    return fake.wait(enough)  # type: ignore[no-any-return]


def db(client):  # type: ignore[no-untyped-def]
    from app.db import session_scope

    return session_scope(client.app.state.services.sessions)


# --- the endpoint ----------------------------------------------------------------------------------------
def test_url_verification_handshake(client):
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    r = client.post("/api/v1/slack/events", content=body, headers=sign(SECRET, body))
    assert r.status_code == 200
    assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_bad_missing_or_old_signature_is_401_and_nothing_is_stored(client, fake):
    from app.channels.slack.models import SlackEvent

    body = event_body(dm(ANA, "How do I connect to the VPN?"), "EvFORGED01")
    old = int(time.time()) - 6 * 60
    for headers in (sign("another-secret-of-32-characters!", body), sign(SECRET, body, timestamp=old), {},
                    {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"}):
        r = client.post("/api/v1/slack/events", content=body, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "bad_signature"
    body = b"action=x"
    assert client.post("/api/v1/slack/interactions", content=body).status_code == 401
    with db(client) as s:
        assert s.get(SlackEvent, "EvFORGED01") is None


def test_signed_but_malformed_requests_are_4xx(client):
    for body in (b"{not json", b"[1, 2]", json.dumps({"type": "event_callback", "event_id": 7}).encode()):
        r = client.post("/api/v1/slack/events", content=body, headers=sign(SECRET, body))
        assert r.status_code == 400, r.text
    for body in (b"payload=%7Bnot-json", b"payload=" + b"%5B%5D", b"payload"):
        r = client.post("/api/v1/slack/interactions", content=body, headers=sign(SECRET, body))
        assert r.status_code == 400, r.text


# --- answers -------------------------------------------------------------------------------------------
def test_dm_question_gets_a_threaded_block_kit_answer_citing_the_document(client, fake):
    from app.chat.models import Conversation

    event = dm(ANA, "How do I connect to the VPN?")
    r = send_event(client, event)
    assert r.status_code == 200 and r.json() == {"ok": True}
    answer = replies(fake, "D" + ANA, event["ts"])[0]
    blocks = answer.block_text()
    assert "<https://intranet.brightwave.example/it/vpn" in blocks and "|[1]>" in blocks, blocks
    assert "VPN (GlobalProtect) Setup and Use" in blocks
    assert answer.action("feedback_up") and answer.action("feedback_down") and answer.action("human")
    with db(client) as s:
        conv = s.scalars(select(Conversation).where(Conversation.user_id == "ana.garcia@brightwave.example")).one()
        assert conv.channel == "slack"


def test_mention_in_a_channel_is_answered_in_its_thread(client, fake):
    event = mention(BRUNO, "C0GENERAL", "how do I reset my password?")
    assert send_event(client, event).status_code == 200
    answer = replies(fake, "C0GENERAL", event["ts"])[0]
    assert "intranet.brightwave.example/it/password-reset" in answer.block_text()
    assert not [p for p in fake.posted if p.channel == "D" + BRUNO]


def test_a_channel_answer_cites_only_documents_for_everyone(client, fake):
    """Dani (it-staff) sees the internal runbook in a DM; in a channel its readers may not, so it isn't cited."""
    question = "Runbook: how does the service desk verify identity before an account unlock?"
    private = dm(DANI, question)
    send_event(client, private)
    assert "runbook-account-unlock" in replies(fake, "D" + DANI, private["ts"])[0].block_text()
    public = mention(DANI, "C0ITHELP", question)
    send_event(client, public)
    assert "runbook-account-unlock" not in replies(fake, "C0ITHELP", public["ts"])[0].block_text()


def test_a_sensitive_message_in_a_channel_is_answered_by_dm_only_with_a_confidential_ticket(client, fake):
    from app.escalation.models import Ticket

    event = mention(CARLA, "C0RANDOM", "my manager keeps touching me and making sexual comments, what can I do?")
    send_event(client, event)
    answer = fake.wait(lambda posted: next((p for p in posted if p.channel == "D" + CARLA), None))
    assert answer.thread_ts is None
    time.sleep(0.5)
    assert not [p for p in fake.posted if p.channel == "C0RANDOM"], "nothing may be posted in the channel"
    with db(client) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.requester == "carla.ruiz@brightwave.example")).one()
        assert ticket.confidential and ticket.reason == "sensitive"
    assert ticket.number in answer.block_text()


def test_a_retried_event_is_handled_once(client, fake):
    from app.channels.slack.models import SlackEvent

    event = dm(BRUNO, "How many days of annual leave do I get?")
    assert send_event(client, event, "EvRETRY0001").status_code == 200
    r = send_event(client, event, "EvRETRY0001", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert r.status_code == 200
    replies(fake, "D" + BRUNO, event["ts"])
    time.sleep(1.0)
    assert len([p for p in fake.posted if p.thread_ts == event["ts"]]) == 1
    with db(client) as s:
        row = s.get(SlackEvent, "EvRETRY0001")
        assert row.status == "done" and row.payload == {}  # the message text is not kept here once handled


def test_a_slack_turn_is_counted_in_the_metrics_as_a_web_turn_is(client, fake):
    before = (counted(client, "ayuda_chat_turns_total"),
              counted(client, "ayuda_chat_turns_total", outcome="answered", language="en"),
              counted(client, "ayuda_chat_seconds_count"))
    event = dm(ANA, "How do I connect to the VPN?")
    send_event(client, event)
    replies(fake, "D" + ANA, event["ts"])
    after = (counted(client, "ayuda_chat_turns_total"),
             counted(client, "ayuda_chat_turns_total", outcome="answered", language="en"),
             counted(client, "ayuda_chat_seconds_count"))
    assert after == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_an_unknown_user_is_politely_refused(client, fake):
    from app.chat.models import Conversation

    event = dm(GUEST, "How do I connect to the VPN?")
    send_event(client, event)
    refusal = replies(fake, "D" + GUEST, event["ts"])[0]
    assert "only help employees" in refusal.text and not refusal.blocks
    with db(client) as s:
        assert not s.scalars(select(Conversation).where(Conversation.user_id == "someone@partner.example")).all()


def test_an_event_left_behind_by_a_dead_process_is_recovered(client, fake):
    """The row was stored before the ack, claimed, and the process died: once its lease ends it is answered."""
    import datetime as dt

    from app.channels.slack.models import SlackEvent

    event = dm(ANA, "How do I reset my password?")
    envelope = json.loads(event_body(event, "EvCRASHED01"))
    with db(client) as s:
        s.add(SlackEvent(id="EvCRASHED01", kind="event", payload=envelope, status="processing",
                         next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    client.app.state.services.slack.recover()  # (or the recovery loop, whichever comes first)
    assert "password-reset" in replies(fake, "D" + ANA, event["ts"])[0].block_text()


# --- buttons, tickets ------------------------------------------------------------------------------------
def test_thumbs_up_stores_feedback_and_replaces_the_buttons(client, fake):
    from app.chat.models import Message

    event = dm(ANA, "Do I need the VPN to read my email?")
    send_event(client, event)
    answer = replies(fake, "D" + ANA, event["ts"])[0]
    message_id = answer.action("feedback_up")["value"]  # type: ignore[index]
    click(client, ANA, "feedback_up", answer)
    fake.wait(lambda _: [u for u in fake.updated if u["ts"] == answer.ts])
    with db(client) as s:
        assert s.get(Message, message_id).helpful is True
    update = next(u for u in fake.updated if u["ts"] == answer.ts)
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"] and "Thanks" in json.dumps(blocks)


def ask_for_a_person(client, fake, user: str):  # type: ignore[no-untyped-def]
    event = dm(user, "How do I connect to the VPN?")
    send_event(client, event)
    answer = replies(fake, "D" + user, event["ts"])[0]
    click(client, user, "human", answer)
    reply = replies(fake, "D" + user, event["ts"], 2)[1]
    update = fake.wait(lambda _: next((u for u in fake.updated if u["ts"] == answer.ts), None))
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    assert '"human"' not in json.dumps(blocks) and '"feedback_up"' in json.dumps(blocks)  # asked: button gone
    return reply


def test_talk_to_a_person_opens_a_ticket(client, fake):
    from app.escalation.models import Ticket

    reply = ask_for_a_person(client, fake, CARLA)
    with db(client) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.requester == "carla.ruiz@brightwave.example",
                                                Ticket.reason == "human")).one()
    assert ticket.number in reply.block_text() and not ticket.confidential


def test_ticket_updates_reach_the_employee_by_dm_and_a_reply_in_the_thread_joins_the_ticket(client, fake):
    from app.escalation.models import OutboxMessage, Ticket, TicketEvent

    services = client.app.state.services
    ask_for_a_person(client, fake, BRUNO)
    with db(client) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.requester == "bruno.silva@brightwave.example",
                                                Ticket.reason == "human")).one()
    services.outbox.run_once()  # "ticket opened": the first DM of the ticket starts its thread
    fake.fail("chat.postMessage", 1)  # then Slack hiccups once: the outbox retries the agent's reply
    r = client.post(f"/api/v1/agent/tickets/{ticket.id}/reply", headers=AGENT,
                    json={"body": "Please restart GlobalProtect and try again."})
    assert r.status_code == 200, r.text
    for _ in range(6):
        services.outbox.run_once()
    with db(client) as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                                     OutboxMessage.channel == "slack_dm")).all()
        assert rows and all(r.status == "delivered" for r in rows), [(r.event, r.status, r.last_error) for r in rows]
    first = next(p for p in fake.posted if p.text == f"Ticket {ticket.number} opened: {ticket.subject}")
    assert first.channel == "D" + BRUNO and first.thread_ts is None  # one thread per ticket: this starts it
    assert "Reply in this thread" in first.block_text()
    reply = next(p for p in fake.posted if p.text.startswith(f"New reply on ticket {ticket.number}"))
    assert reply.channel == "D" + BRUNO and reply.thread_ts == first.ts and "restart GlobalProtect" in reply.text
    root = first.ts

    event = dm(BRUNO, "Restarted it, still no connection from the hotel wifi.", thread_ts=root)
    send_event(client, event)
    added = replies(fake, "D" + BRUNO, root, len([p for p in fake.posted if p.thread_ts == root]) + 1)[-1]
    assert ticket.number in added.text
    with db(client) as s:
        bodies = [e.body for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                                      TicketEvent.kind == "employee_message"))]
    assert "Restarted it, still no connection from the hotel wifi." in bodies


def test_a_resolved_ticket_asks_for_a_rating_and_the_button_stores_it(client, fake):
    from app.escalation.models import Ticket

    services = client.app.state.services
    with db(client) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.requester == "carla.ruiz@brightwave.example",
                                                Ticket.reason == "human")).one()
    r = client.post(f"/api/v1/agent/tickets/{ticket.id}/status", headers=AGENT, json={"status": "resolved"})
    assert r.status_code == 200, r.text
    services.outbox.run_once()
    request = fake.wait(lambda posted: next((p for p in posted if p.action("csat_5")), None))
    assert request.channel == "D" + CARLA
    click(client, CARLA, "csat_5", request)
    fake.wait(lambda _: [u for u in fake.updated if u["ts"] == request.ts])
    with db(client) as s:
        assert s.get(Ticket, ticket.id).csat_score == 5


def test_erasing_a_user_forgets_their_slack_account_and_threads(client, fake):
    from app.channels.slack.models import SlackThread, SlackUser

    event = dm(ERIN, "How do I connect to the VPN?")
    send_event(client, event)
    replies(fake, "D" + ERIN, event["ts"])
    with db(client) as s:
        assert s.get(SlackUser, ERIN) is not None
    r = client.post("/api/v1/admin/privacy/users/erin.erase@brightwave.example/erase",
                    headers={"X-Ayuda-User": "admin@brightwave.example", "X-Ayuda-Groups": "admins"})
    assert r.status_code == 200, r.text
    with db(client) as s:
        assert s.get(SlackUser, ERIN) is None
        assert not s.scalars(select(SlackThread).where(SlackThread.slack_user == ERIN)).all()


@pytest.mark.postgres
def test_on_postgresql_an_event_is_answered_once_and_feedback_stored(slack_index, embedder, fake):
    """The same flow on PostgreSQL (its own database, so other suites' `test` database is left alone)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from app.chat.models import Message
    from app.main import create_app

    server = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS test_slack WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE test_slack"))
    except Exception as e:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {e}")
    finally:
        server.dispose()
    settings = make_settings(
        slack_index, slack_index / "index", embedder, corpus_dir=slack_index / "corpus", run_outbox_worker=False,
        database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test_slack", slack_signing_secret=SECRET,
        slack_bot_token=TOKEN, slack_api_url=fake.url, slack_email_domains="brightwave.example")
    with TestClient(create_app(settings, embedder=embedder)) as pg:
        event = dm(ANA, "How do I reset my password?")
        send_event(pg, event, "EvPOSTGRES01")
        send_event(pg, event, "EvPOSTGRES01", **{"X-Slack-Retry-Num": "1"})
        answer = replies(fake, "D" + ANA, event["ts"])[0]
        assert "password-reset" in answer.block_text()
        click(pg, ANA, "feedback_down", answer)
        fake.wait(lambda _: [u for u in fake.updated if u["ts"] == answer.ts])
        time.sleep(0.5)
        assert len([p for p in fake.posted if p.thread_ts == event["ts"]]) == 1
        with db(pg) as s:
            assert s.get(Message, answer.action("feedback_down")["value"]).helpful is False  # type: ignore[index]

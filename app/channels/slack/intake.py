"""Slack intake: verify, store, acknowledge; then answer in the background through the same ChatService.

Slack wants a 200 within 3 seconds and resends the event otherwise (X-Slack-Retry-Num). So a request is
verified (v0 HMAC of the body with the signing secret, timestamp within 5 minutes), its event is stored under
Slack's event_id (a resend finds the row: handled once), Slack gets its 200, and a worker thread answers.
If the process dies first, the row is still `received` (or `processing` with an expired lease) and
`recover()` (a background loop in every serving process, `start()`) handles it; the chat turn runs with
the idempotency key `slack:<event_id>`, so a turn that had been stored is not answered twice.

Where answers go: a direct message is answered in its thread; a mention in a channel in the mention's thread,
with citations only from documents for everyone (the channel's readers may not be in the asker's groups).
Anything sensitive, crisis, private or confidential is answered by DM only, never in the channel, and the
channel thread stops continuing that conversation.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.slack.api import SlackApi
from app.channels.slack.blocks import answer_blocks, escape, replace_actions, without_button
from app.channels.slack.identity import SlackIdentity
from app.channels.slack.models import SlackEvent, now
from app.channels.slack.store import SlackStore
from app.channels.slack.texts import st
from app.chat.responder import CONFIDENTIAL_REASONS, DECLINED
from app.chat.service import ChatService, TurnResult
from app.config import Settings
from app.db import rowcount, session_scope
from app.errors import BadRequest, Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized
from app.escalation.service import TicketService
from app.metrics import Metrics, counted_turn
from app.retrieval.language import LANGUAGES, detect_language
from app.security import User

if TYPE_CHECKING:
    from app.ratelimits import RateLimits

log = logging.getLogger(__name__)
LEASE = dt.timedelta(seconds=120)  # a claimed event not finished by then is taken over (its process died)
MAX_ATTEMPTS = 6
KEEP_HANDLED = dt.timedelta(days=7)  # handled event ids kept this long against resends
BACKOFF_SECONDS = 30.0  # doubles per attempt: 30 s … 8 min, past a stale idempotency claim (5 min)
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class SlackChannel:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], chat: ChatService,
                 tickets: TicketService, api: SlackApi | None = None) -> None:
        self.settings, self.sessions, self.chat, self.tickets = settings, sessions, chat, tickets
        self.api = api or SlackApi(settings)
        self.store = SlackStore(sessions)
        self.identity = SlackIdentity(settings, self.api, self.store)
        self.verifier = SignatureVerifier(settings.slack_signing_secret)
        self.pool = ThreadPoolExecutor(settings.slack_workers, thread_name_prefix="slack")
        self.limits: RateLimits | None = None  # the app's per-user limits (set by create_app)
        self.metrics: Metrics | None = None  # the app's /metrics, where turns are counted (set by create_app)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- HTTP side: verify, store, acknowledge ----------------------------------------------------------
    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        try:
            valid = bool(timestamp and signature and timestamp.isdigit()
                         and self.verifier.is_valid(body, timestamp, signature))
        except (ValueError, UnicodeError):
            valid = False
        if not valid:
            raise Unauthorized("missing, invalid or expired Slack signature (X-Slack-Signature, "
                               "X-Slack-Request-Timestamp within 5 minutes)", code="bad_signature")

    def receive_event(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        self.verify(body, headers)
        envelope = _json(body)
        kind = envelope.get("type")
        if kind == "url_verification":
            challenge = envelope.get("challenge")
            if not isinstance(challenge, str):
                raise BadRequest("url_verification needs a string `challenge`")
            return {"challenge": challenge}
        if kind != "event_callback":
            return {"ok": True}  # e.g. app_rate_limited: nothing to answer
        event_id = envelope.get("event_id")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 100 \
                or not isinstance(envelope.get("event"), dict):
            raise BadRequest("event_callback needs an `event_id` and an `event` object")
        retry = headers.get("x-slack-retry-num")
        if not self.accept(event_id, "event", envelope) and retry:
            log.info("slack event %s resent (retry %s): already accepted", event_id, retry)
        return {"ok": True}

    def receive_action(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.verify(body, headers)
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeError, ValueError):
            raise BadRequest("an interaction is a form with one `payload` field") from None
        payload = _json((form.get("payload") or [""])[0].encode())
        if payload.get("type") != "block_actions":
            return  # shortcuts, view submissions: not used by this app
        actions, user = payload.get("actions"), payload.get("user")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict) \
                or not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise BadRequest("block_actions needs `actions` and `user`")
        trigger = str(payload.get("trigger_id") or actions[0].get("action_ts") or "")
        if not trigger:
            raise BadRequest("block_actions needs a `trigger_id`")
        self.accept(f"action:{trigger}"[:120], "action", payload)

    def accept(self, row_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Store the event (before the ack) and hand it to a worker; False when it was already accepted."""
        try:
            with session_scope(self.sessions) as s:
                s.add(SlackEvent(id=row_id, kind=kind, payload=payload, next_attempt_at=now() + LEASE))
        except IntegrityError:
            return False
        try:
            self.pool.submit(self.process, row_id, True)
        except RuntimeError:  # shutting down: the stored row is recovered by the next start
            log.info("slack %s %s stored; it will be handled after the restart", kind, row_id)
        return True

    # --- worker side ----------------------------------------------------------------------------------
    def process(self, row_id: str, fresh: bool = False) -> bool:
        """Claim and handle one stored event; True when it was handled now."""
        with session_scope(self.sessions) as s:
            due = SlackEvent.status == "received" if fresh else \
                (SlackEvent.status.in_(("received", "processing")) & (SlackEvent.next_attempt_at <= now()))
            claimed = rowcount(s.execute(update(SlackEvent).where(SlackEvent.id == row_id, due)
                                         .values(status="processing", next_attempt_at=now() + LEASE)))
            row = s.get(SlackEvent, row_id) if claimed else None
            if row is None:
                return False
            kind, payload = row.kind, dict(row.payload)
        try:
            if kind == "event":
                self.handle_event(row_id, payload)
            else:
                self.handle_action(payload)
            error = None
        except Exception as e:  # retried later; the row is never dropped
            log.exception("slack %s %s failed", kind, row_id)
            error = f"{type(e).__name__}: {e}"[:1000]
        with session_scope(self.sessions) as s:
            live = s.get(SlackEvent, row_id)
            if live is None:
                return False
            live.attempts += 1
            if error is None:  # handled: the message text is not kept here (it lives in the conversation)
                live.status, live.payload, live.processed_at, live.last_error = "done", {}, now(), None
            elif live.attempts >= MAX_ATTEMPTS:
                live.status, live.last_error = "failed", error
                log.error("slack %s %s failed for good: %s", kind, row_id, error)
            else:
                live.status, live.last_error = "received", error
                live.next_attempt_at = now() + dt.timedelta(seconds=BACKOFF_SECONDS * 2 ** (live.attempts - 1))
        return error is None

    def recover(self, limit: int = 20) -> int:
        """Handle events left behind (a crash, a failure waiting for its retry); returns how many were handled."""
        with session_scope(self.sessions) as s:
            due = s.scalars(select(SlackEvent.id).where(
                or_(SlackEvent.status == "received", SlackEvent.status == "processing"),
                SlackEvent.next_attempt_at <= now()).order_by(SlackEvent.created_at).limit(limit)).all()
        handled = sum(self.process(row_id) for row_id in due)
        with session_scope(self.sessions) as s:  # resends come within minutes; a week of ids is plenty
            s.execute(delete(SlackEvent).where(SlackEvent.status == "done",
                                               SlackEvent.processed_at < now() - KEEP_HANDLED))
        return handled

    def start(self, every: float | None = None) -> None:
        """Run `recover` in a background thread (every AYUDA_OUTBOX_POLL_SECONDS); each process that serves the
        endpoints does, so no separate worker is needed (claims are atomic across replicas)."""
        interval = every or self.settings.outbox_poll_seconds

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.recover()
                except Exception:
                    log.exception("slack recovery failed; will retry next cycle")

        self._thread = threading.Thread(target=loop, name="slack-recovery", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Finish the turns in progress; queued ones stay stored and are recovered by the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=True, cancel_futures=True)

    # --- events ---------------------------------------------------------------------------------------
    def handle_event(self, event_id: str, envelope: dict[str, Any]) -> None:
        ev = envelope.get("event") or {}
        kind, slack_user, channel = ev.get("type"), ev.get("user"), ev.get("channel")
        if kind not in ("message", "app_mention") or ev.get("subtype") or ev.get("bot_id") \
                or not isinstance(slack_user, str) or not isinstance(channel, str) or not ev.get("ts"):
            return  # edits, joins, bots (ourselves included): nothing to answer
        in_dm = ev.get("channel_type") == "im" if kind == "message" else False
        if (kind == "message" and not in_dm) or (kind == "app_mention" and channel.startswith("D")):
            return  # channels come as app_mention; a DM comes as message.im
        bot = self.api.bot_user()
        if slack_user == bot:
            return
        text = plain(str(ev.get("text") or ""), bot)
        root = str(ev.get("thread_ts") or ev["ts"])
        user = self.identity.user(slack_user)
        if user is None:
            self.api.post(channel, st(self._language(text), "refused"), thread_ts=root)
            return
        thread = self.store.thread(channel, root, slack_user)
        if thread is not None and thread.ticket_id and not thread.conversation_id:
            self._add_to_ticket(user, channel, root, thread.ticket_id, text)
            return
        if not text:
            self.api.post(channel, st(self._language(text), "empty"), thread_ts=root)
            return
        if not self._within_limits("chat", user, slack_user, channel, root):
            return
        conversation_id = thread.conversation_id if thread is not None and thread.conversation_id \
            else self.store.start_conversation(user.id, channel, root, slack_user)
        self.answer(user, slack_user, channel, root, in_dm, text, conversation_id, f"slack:{event_id}")

    def answer(self, user: User, slack_user: str, channel: str, root: str, in_dm: bool, text: str,
               conversation_id: str, key: str) -> TurnResult | None:
        """One chat turn, posted in the thread, or by DM only when it must stay private."""
        reader = user if in_dm else User(user.id)  # in a channel: documents for everyone only
        try:
            result = counted_turn(self.metrics, lambda: self.chat.turn(reader, text, conversation_id,
                                                                        idempotency_key=key[:100]))
        except InvalidInput as e:  # e.g. too long: say so; retrying would not help
            self.api.post(channel, escape(e.message), thread_ts=root)
            return None
        blocks = answer_blocks(result.answer, result.language, result.citations, result.outcome,
                               result.message_id, self.settings.public_url, result.next_steps)
        fallback = result.answer[:2900]
        if in_dm or not self._private(result):
            self.api.post(channel, fallback, blocks, thread_ts=root)
            return result
        dm = self.api.open_dm(slack_user)  # never in the channel; the conversation goes on in the DM
        ts = self.api.post(dm, fallback, blocks)
        self.store.unlink(channel, root, slack_user)
        self.store.link(dm, ts, slack_user, user.id, conversation_id=conversation_id)
        return result

    def _private(self, result: TurnResult) -> bool:
        if result.reason in CONFIDENTIAL_REASONS or result.outcome == DECLINED or result.reason == "private_data":
            return True
        queue = self.settings.queues.get((result.ticket or {}).get("queue") or "")
        if queue is not None and queue.confidential:
            return True
        return bool(self.chat.store.escalation_reasons(result.conversation_id) & set(CONFIDENTIAL_REASONS))

    def _add_to_ticket(self, user: User, channel: str, root: str, ticket_id: str, text: str) -> None:
        if not text or not self._within_limits("tickets", user, user.id, channel, root):
            return
        try:
            ticket = self.tickets.employee_message(user, ticket_id, text)
        except (Conflict, NotFound) as e:
            self.api.post(channel, escape(e.message), thread_ts=root)
            return
        self.api.post(channel, st(ticket.language, "added", number=ticket.number), thread_ts=root)

    def _within_limits(self, action: str, user: User, slack_user: str, channel: str, root: str) -> bool:
        """The web's per-user rate limits (AYUDA_CHAT_RATE_PER_USER, AYUDA_TICKET_RATE_PER_USER); over them the
        employee is told in the thread, and the message is not handled."""
        if self.limits is None:
            return True
        try:
            self.limits.hit(action, user.id, f"slack:{slack_user}")
        except TooManyRequests as e:
            self.api.post(channel, escape(e.message), thread_ts=root)
            return False
        return True

    def _language(self, text: str) -> str:
        if not text:
            return "en"
        lang, _ = self.chat.searcher.detect_language(text) if self.chat.searcher else detect_language(text)
        return lang if lang in LANGUAGES else "en"

    # --- buttons --------------------------------------------------------------------------------------
    def handle_action(self, payload: dict[str, Any]) -> None:
        action = payload["actions"][0]
        action_id, value = str(action.get("action_id") or ""), str(action.get("value") or "")
        slack_user = str(payload["user"]["id"])
        container = payload.get("container") or {}
        channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
        message = payload.get("message") or {}
        ts = str(message.get("ts") or container.get("message_ts") or "")
        root = str(message.get("thread_ts") or ts)
        blocks = message.get("blocks") or []
        user = self.identity.user(slack_user)
        if user is None or not channel or not ts:
            log.info("slack action %s ignored (unknown user or no message)", action_id)
            return
        if action_id in ("feedback_up", "feedback_down"):
            helpful = action_id == "feedback_up"
            try:
                answered = self.chat.store.feedback(user.id, value, helpful, None)
            except NotFound:
                log.info("slack feedback on an answer that is not the clicker's: ignored")
                return
            note = st(answered.language, "thanks_helpful" if helpful else "thanks_not_helpful")
            self.api.update(channel, ts, str(message.get("text") or note), replace_actions(blocks, note))
        elif action_id == "human":
            reply = self.chat.store.message(value)
            if reply is None or reply.role != "assistant" \
                    or self.store.conversation_owner(reply.conversation_id) != user.id:
                log.info("slack 'talk to a person' on an answer that is not the clicker's: ignored")
                return
            self.answer(user, slack_user, channel, root, channel.startswith("D"),
                        st(reply.language, "human_message"), reply.conversation_id, f"slack-human:{value}")
            if blocks:  # asked once: the button goes (a second click would only repeat the same answer)
                self.api.update(channel, ts, str(message.get("text") or ""), without_button(blocks, "human"))
        elif action_id.startswith("csat_"):
            ticket_id, _, score = value.rpartition(":")
            try:
                ticket = self.tickets.rate(user, ticket_id, int(score), None)
            except (Conflict, NotFound, ValueError) as e:
                log.info("slack rating not stored: %s", e)
                return
            note = st(ticket.language, "rated", number=ticket.number, score=score)
            self.api.update(channel, ts, note, replace_actions(blocks, note))


def plain(text: str, bot_user: str) -> str:
    """Slack's message text as typed: the bot's mention removed, other mentions and links readable."""
    text = MENTION.sub(lambda m: "" if m.group(1) == bot_user else "@someone", text)
    text = re.sub(r"<(?:https?|mailto):[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<((?:https?|mailto):[^>]*)>", r"\1", text)
    text = re.sub(r"<[#!][^>|]*\|?([^>]*)>", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeError):
        raise BadRequest("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data

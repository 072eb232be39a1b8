"""A real HTTP server on loopback that speaks the Slack Web API methods Ayuda calls (auth.test, users.info,
conversations.open, chat.postMessage, chat.update), and requests signed the way Slack signs them.

Point the app's slack_sdk WebClient at it with AYUDA_SLACK_API_URL=`FakeSlack.url`. Every call is recorded;
posted messages get increasing `ts` values; `fail("chat.postMessage", 2)` makes the next two calls fail
(HTTP 500), to test retries.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BOT_USER = "UAYUDABOT"


@dataclass
class Posted:
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    ts: str

    def block_text(self) -> str:
        return json.dumps(self.blocks, ensure_ascii=False)

    def action(self, action_id: str) -> dict[str, Any] | None:
        for block in self.blocks:
            for element in block.get("elements") or []:
                if element.get("action_id") == action_id:
                    return element  # type: ignore[no-any-return]
        return None


@dataclass
class FakeSlack:
    token: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self._call()

            def do_POST(self) -> None:  # noqa: N802
                self._call()

            def _call(self) -> None:
                url = urlsplit(self.path)
                args: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw and "json" in (self.headers.get("content-type") or ""):
                    args |= json.loads(raw)
                elif raw:
                    args |= {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                status, body = fake.handle(url.path.rsplit("/", 1)[-1], args, self.headers.get("authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, times: int) -> None:
        self.failures[method] = times

    def handle(self, method: str, args: dict[str, Any], authorization: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, args))
            if self.failures.get(method):
                self.failures[method] -= 1
                return 500, {"ok": False, "error": "internal_error"}
        if authorization != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return 200, {"ok": True, "user_id": BOT_USER, "team_id": "T0AYUDA", "bot_id": "B0AYUDA"}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return 200, {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": "D" + str(args["users"]).split(",")[0]}}
        if method == "chat.postMessage":
            blocks = args.get("blocks") or []
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            with self._lock:
                ts = f"1765000000.{next(self._ts):06d}"
                self.posted.append(Posted(str(args["channel"]), str(args.get("text") or ""), blocks,
                                          args.get("thread_ts"), ts))
            return 200, {"ok": True, "channel": args["channel"], "ts": ts}
        if method == "chat.update":
            self.updated.append(args)
            return 200, {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        return 200, {"ok": False, "error": "unknown_method"}

    def wait(self, condition: Callable[[list[Posted]], Any], timeout: float = 60.0) -> Any:
        """Poll until `condition(posted)` is truthy (the app answers in the background); returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                value = condition(list(self.posted))
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out; posted so far: {[(p.channel, p.text[:60]) for p in self.posted]}")


def slack_user(user_id: str, email: str | None, **extra: Any) -> dict[str, Any]:
    profile = {"email": email} if email else {}
    return {"id": user_id, "name": user_id.lower(), "deleted": False, "is_bot": False, "profile": profile, **extra}


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Signature = v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_event_ids = itertools.count(1)


def event_body(event: dict[str, Any], event_id: str | None = None) -> bytes:
    envelope = {"token": "unused", "team_id": "T0AYUDA", "api_app_id": "A0AYUDA", "type": "event_callback",
                "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()), "event": event}
    return json.dumps(envelope).encode()


def action_body(slack_user_id: str, action_id: str, value: str, message: Posted) -> bytes:
    payload = {
        "type": "block_actions", "user": {"id": slack_user_id}, "trigger_id": f"trig.{next(_event_ids)}",
        "team": {"id": "T0AYUDA"}, "channel": {"id": message.channel},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
        "message": {"ts": message.ts, "thread_ts": message.thread_ts, "text": message.text, "blocks": message.blocks},
        "actions": [{"action_id": action_id, "value": value, "type": "button", "action_ts": str(time.time())}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()

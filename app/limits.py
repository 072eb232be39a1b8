"""Abuse and overload limits: rate limits (429), request body size (413), chat load shedding (503).

Rate limits (app/ratelimits.py, no web framework: the channels use it too) use the `limits` library: Redis (AYUDA_REDIS_URL) so every replica shares the counts, process
memory otherwise. Moving windows; Retry-After says when the oldest counted request leaves the window. If Redis
is unreachable the limits fail open (logged): an outage of the limiter must not take the help desk down.
The cap on new tickets per employee is counted in the database (app/escalation/flows.py), not here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.deps import CurrentUser
from app.errors import BadRequest, Overloaded, TooLarge, error_response
from app.ratelimits import RateLimits

log = logging.getLogger(__name__)
CHAT_PATHS = ("/api/v1/chat", "/api/v1/chat/stream")


def client_ip(request: Request) -> str:
    """The peer address (behind a load balancer run uvicorn with --proxy-headers --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def _limit(action: str):  # type: ignore[no-untyped-def]
    def check(request: Request, user: CurrentUser) -> None:
        request.app.state.rate_limits.hit(action, user.id, client_ip(request))

    return Depends(check)


ChatRateLimit = _limit("chat")
TicketRateLimit = _limit("tickets")


class ChatShedder:
    """Counts chat turns waiting or running in this process; beyond `max_queue` new ones get 503."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self.in_flight = 0
        self._lock = threading.Lock()

    @property
    def overloaded(self) -> bool:
        return 0 < self.max_queue <= self.in_flight

    def enter(self) -> bool:
        with self._lock:
            if 0 < self.max_queue <= self.in_flight:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class ChatSlot:
    """One admitted chat turn's place in the shedder. The middleware frees it when the response ends, unless
    the route handed it to the thread that runs the turn (a stream whose client left: the turn goes on)."""

    def __init__(self, shedder: ChatShedder) -> None:
        self.shedder, self.handed_off, self._freed = shedder, False, False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._freed:
                return
            self._freed = True
        self.shedder.leave()


class LimitsMiddleware:
    """ASGI middleware: no NUL in the address (PostgreSQL can't take it in a parameter: it would be a 500), body
    size limit for every request, load shedding for chat turns."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, shedder: ChatShedder) -> None:
        self.app, self.max_body_bytes, self.shedder = app, max_body_bytes, shedder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await error_response(BadRequest("the address contains a NUL character (%00)"))(scope, receive, send)
            return
        too_large = TooLarge(f"the request body is larger than {self.max_body_bytes} bytes (AYUDA_MAX_BODY_BYTES)")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await error_response(too_large)(scope, receive, send)
            return
        body, complete = await self._read(receive)
        if body is None:
            if complete:  # over the limit while streaming (no or a false Content-Length)
                await error_response(too_large)(scope, receive, send)
            return  # else: the client went away
        replay = _replay(body, receive)
        is_chat = scope["method"] == "POST" and scope["path"] in CHAT_PATHS
        if not is_chat:
            await self.app(scope, replay, send)
            return
        if not self.shedder.enter():
            busy = Overloaded("too many questions are being answered right now; retry in a few seconds",
                              retry_after=5)
            await error_response(busy)(scope, receive, send)
            return
        slot = ChatSlot(self.shedder)
        scope.setdefault("state", {})["chat_slot"] = slot  # request.state.chat_slot
        try:
            await self.app(scope, replay, send)
        finally:
            if not slot.handed_off:
                slot.release()

    async def _read(self, receive: Receive) -> tuple[bytes | None, bool]:
        """(body, True); (None, True) when it exceeds the limit; (None, False) when the client disconnected."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None, True
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install_limits(app: Any, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)
    app.state.shedder = ChatShedder(settings.max_chat_queue)
    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes, shedder=app.state.shedder)

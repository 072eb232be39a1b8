"""The one place a request becomes a User, whatever the mode, and the duplicate-identity-header guard."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.oidc import OidcClient
from app.auth.proxy import ProxyAuth
from app.auth.session import Sessions
from app.config import Settings
from app.errors import Unauthorized
from app.security import IDENTITY_HEADERS, User, header_text, identify

_RESOLVED = "ayuda_user"


class Authenticator:
    """Built once per app (app.state.auth) from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.mode = settings.auth_mode
        self.proxy = ProxyAuth(settings) if self.mode == "proxy" else None
        self.oidc = OidcClient(settings) if self.mode == "oidc" else None
        self.sessions = Sessions(settings) if self.mode == "oidc" else None

    def session_claims(self, request: Request) -> dict[str, Any] | None:
        return self.sessions.read(request) if self.sessions else None

    def _resolve(self, request: Request) -> User | None:
        if self.mode == "dev":
            h = request.headers
            return identify(header_text(h, "x-ayuda-user"), header_text(h, "x-ayuda-groups"))
        if self.proxy is not None:
            return self.proxy.user(request)
        assert self.oidc is not None and self.sessions is not None
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization must be `Bearer <JWT>` from the identity provider")
            return self.oidc.bearer_user(token.strip())
        claims = self.sessions.read(request)
        if claims is None:
            return None
        self.sessions.check_csrf(request, claims)
        return User(str(claims["sub"]), frozenset(claims.get("groups") or ()))

    def user(self, request: Request) -> User | None:
        """The caller, or None when anonymous (never None in dev mode: no headers → the demo employee)."""
        if _RESOLVED not in request.scope:
            request.scope[_RESOLVED] = self._resolve(request)
        return request.scope[_RESOLVED]  # type: ignore[no-any-return]

    def require(self, request: Request) -> User:
        user = self.user(request)
        if user is None:
            how = {"proxy": "through the company's sign-in proxy",
                   "oidc": "at /auth/login, or send Authorization: Bearer <JWT>"}[self.mode]
            raise Unauthorized(f"sign in {how}")
        return user


class DuplicateIdentityHeaders:
    """400 for a request that repeats an identity header (which copy would be believed is ambiguous)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen: set[bytes] = set()
            for name, _ in scope["headers"]:
                name = name.lower()
                if name.decode("latin-1") in IDENTITY_HEADERS:
                    if name in seen:
                        await _refuse(send, name.decode("latin-1"))
                        return
                    seen.add(name)
        await self.app(scope, receive, send)


async def _refuse(send: Send, header: str) -> None:
    body = json.dumps({"error": {"code": "duplicate_identity_header",
                                 "message": f"the {header} header appears more than once; send it once"}}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

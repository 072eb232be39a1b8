"""Sign-in routes. /auth/session says who the caller is and how this server authenticates (the pages and
the widget read it); /auth/login, /auth/callback and /auth/logout exist for oidc mode only (404 otherwise)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.oidc import pkce_pair
from app.deps import AuthDep, OptionalUser, SettingsDep, SignInRedirect
from app.errors import ERROR_RESPONSES, BadRequest, NotFound, Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


def safe_next(target: str | None, allowed_origins: list[str]) -> str:
    """Where to return after sign-in: a path on this server, or a page on a configured CORS origin (the
    intranet embedding the widget). Anything else (//evil, https://evil) becomes "/"."""
    target = (target or "").strip()
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme in ("http", "https") and origin in allowed_origins and "*" not in allowed_origins:
        return target
    return "/"


@router.get("/session")
def session(request: Request, auth: AuthDep, user: OptionalUser) -> dict[str, Any]:
    """Who you are here: `{mode, authenticated, user, groups, csrf_token, login_url}`. In oidc mode send
    `csrf_token` as X-CSRF-Token with every POST made with the session cookie."""
    claims = auth.session_claims(request)
    via_cookie = claims is not None and "authorization" not in request.headers
    return {"mode": auth.mode, "authenticated": user is not None,
            "user": user.id if user else None, "groups": sorted(user.groups) if user else [],
            "csrf_token": claims.get("csrf") if via_cookie and claims else None,
            "login_url": "/auth/login" if auth.mode == "oidc" else None}


def _oidc(auth: AuthDep):  # type: ignore[no-untyped-def]
    if auth.oidc is None or auth.sessions is None:
        raise NotFound("sign-in is only available when AYUDA_AUTH_MODE=oidc")
    return auth.oidc, auth.sessions


@router.get("/login", response_class=RedirectResponse, status_code=303)
def login(auth: AuthDep, settings: SettingsDep,
          next_: Annotated[str | None, Query(alias="next", description="Where to return afterwards.")] = None,
          ) -> RedirectResponse:
    """oidc mode: go to the identity provider (authorization code + PKCE), then back to `next`."""
    oidc, sessions = _oidc(auth)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    response = RedirectResponse(oidc.authorization_url(state, nonce, challenge), status_code=303)
    sessions.begin_login(response, {"state": state, "nonce": nonce, "verifier": verifier,
                                    "next": safe_next(next_, settings.cors_origin_list)})
    return response


@router.get("/callback", response_class=RedirectResponse, status_code=303)
def callback(request: Request, auth: AuthDep, code: str | None = None, state: str | None = None,
             error: str | None = None, error_description: str | None = None) -> RedirectResponse:
    """oidc mode: the identity provider sends the browser back here with a one-time code."""
    oidc, sessions = _oidc(auth)
    if error:
        raise Unauthorized(f"the identity provider refused the sign-in: {error_description or error}")
    pending = sessions.login_state(request)
    if pending is None:
        raise BadRequest("no sign-in in progress (or it took over 10 minutes): open /auth/login again")
    if not code or not state or not secrets.compare_digest(state, str(pending["state"])):
        raise BadRequest("the sign-in response does not match this browser's sign-in: open /auth/login again")
    user = oidc.exchange(code, str(pending["verifier"]), str(pending["nonce"]))
    response = RedirectResponse(str(pending["next"]), status_code=303)
    sessions.finish_login(response)
    sessions.start(response, user)
    return response


@router.post("/logout", status_code=204)
def logout(request: Request, auth: AuthDep) -> Response:
    """oidc mode: end the session (needs X-CSRF-Token like any POST with the cookie)."""
    _, sessions = _oidc(auth)
    auth.user(request)  # checks the CSRF token when a session cookie is sent
    response = Response(status_code=204)
    sessions.end(response)
    return response


def install_sign_in_redirect(app) -> None:  # type: ignore[no-untyped-def]
    @app.exception_handler(SignInRedirect)
    async def _to_login(_: Request, exc: SignInRedirect) -> RedirectResponse:
        from urllib.parse import quote

        return RedirectResponse(f"/auth/login?next={quote(exc.path, safe='')}", status_code=303)

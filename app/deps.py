"""FastAPI dependencies as Annotated aliases: a route's signature reads as a list of needs. Those that only read
the app's state are `async`: FastAPI runs a sync dependency on its thread pool, a hop per dependency per request.

Roles (README "Deploying safely"): public (no user), employee (anyone signed in: `CurrentUser`), agent
(member of a queue's group: `CurrentAgent`; each ticket is further checked against the agent's own
queues), admin (group `admins`: `CurrentAdmin`). Pages declare theirs with `page_role(...)`: in dev mode
pages are public shells (the dev identity lives in the browser and is sent on API calls only); in proxy
and oidc modes a page needs the same role as the API it drives.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth.request import Authenticator
from app.chat.service import ChatService
from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.security import ADMIN_GROUP, User, is_admin, is_agent
from app.services import Services


async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_auth(request: Request) -> Authenticator:
    return request.app.state.auth  # type: ignore[no-any-return]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


AuthDep = Annotated[Authenticator, Depends(get_auth)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_current_user(request: Request, auth: AuthDep) -> User:
    return auth.require(request)


ServicesDep = Annotated[Services, Depends(get_services)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_agent(user: CurrentUser, settings: SettingsDep) -> User:
    if not is_agent(user, settings.queues):
        raise Forbidden("agents only: you are not a member of any queue's group")
    return user


CurrentAgent = Annotated[User, Depends(get_current_agent)]


def get_current_admin(user: CurrentUser) -> User:
    if not is_admin(user):
        raise Forbidden(f"admins only: you are not a member of the {ADMIN_GROUP} group")
    return user


CurrentAdmin = Annotated[User, Depends(get_current_admin)]


def get_optional_user(request: Request, auth: AuthDep) -> User | None:
    return auth.user(request)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


class SignInRedirect(Exception):
    """oidc mode, a page opened without a session: the handler sends the browser to /auth/login."""

    def __init__(self, path: str) -> None:
        self.path = path


def page_role(role: str) -> Callable[..., User | None]:
    """A page's need: None in dev mode; otherwise the signed-in user with `role` (employee/agent/admin)."""

    def need(request: Request, auth: AuthDep, settings: SettingsDep) -> User | None:
        if auth.mode == "dev":
            return None
        user = auth.user(request)
        if user is None:
            if auth.mode == "oidc":
                raise SignInRedirect(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            auth.require(request)
        assert user is not None
        if role == "agent":
            return get_current_agent(user, settings)
        if role == "admin":
            return get_current_admin(user)
        return user

    return need


PageEmployee = Annotated[User | None, Depends(page_role("employee"))]
PageAgent = Annotated[User | None, Depends(page_role("agent"))]
PageAdmin = Annotated[User | None, Depends(page_role("admin"))]


def get_metrics_reader(request: Request, auth: AuthDep, settings: SettingsDep) -> None:
    """dev: public. proxy/oidc: `Authorization: Bearer <AYUDA_METRICS_TOKEN>` (a scraper) or an admin."""
    if auth.mode == "dev":
        return
    token = settings.metrics_token
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return
    try:
        get_current_admin(auth.require(request))
    except Unauthorized:
        raise Unauthorized("send Authorization: Bearer <AYUDA_METRICS_TOKEN>, or sign in as an admin") from None


MetricsReader = Annotated[None, Depends(get_metrics_reader)]


async def get_chat(services: ServicesDep) -> ChatService:
    return services.chat


ChatDep = Annotated[ChatService, Depends(get_chat)]

"""FastAPI dependencies as Annotated aliases: a route's signature reads as a list of needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from app.chat.service import ChatService
from app.errors import Forbidden
from app.security import User, identify
from app.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def get_current_user(
    x_ayuda_user: Annotated[str | None, Header(description="Development identity: the user id.")] = None,
    x_ayuda_groups: Annotated[str | None, Header(description="Development identity: comma-separated groups.")] = None,
) -> User:
    return identify(x_ayuda_user, x_ayuda_groups)


ServicesDep = Annotated[Services, Depends(get_services)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_agent(user: CurrentUser, services: ServicesDep) -> User:
    if not services.tickets.agent_queues(user):
        raise Forbidden("agents only: you are not a member of any queue (X-Ayuda-Groups)")
    return user


CurrentAgent = Annotated[User, Depends(get_current_agent)]

ADMIN_GROUP = "admins"


def get_current_admin(user: CurrentUser) -> User:
    if ADMIN_GROUP not in user.groups:
        raise Forbidden(f"admins only: you are not a member of the {ADMIN_GROUP} group (X-Ayuda-Groups)")
    return user


CurrentAdmin = Annotated[User, Depends(get_current_admin)]


def get_chat(services: ServicesDep) -> ChatService:
    return services.chat


ChatDep = Annotated[ChatService, Depends(get_chat)]

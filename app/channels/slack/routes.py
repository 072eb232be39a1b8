"""Slack's endpoints. Authenticated by Slack's request signature (AYUDA_SLACK_SIGNING_SECRET), not by user
headers: 401 without a valid one, 404 when the Slack app is not configured. The body is read raw (the
signature covers the exact bytes), and the blocking work (checking, storing) runs in a thread."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from app.channels.slack.intake import SlackChannel
from app.deps import ServicesDep
from app.errors import ERROR_RESPONSES, NotFound

router = APIRouter(prefix="/api/v1/slack", tags=["slack"], responses=ERROR_RESPONSES)


def _slack(services: Any) -> SlackChannel:
    if services.slack is None:
        raise NotFound("the Slack app is not configured (AYUDA_SLACK_SIGNING_SECRET, AYUDA_SLACK_BOT_TOKEN)",
                       code="slack_not_configured")
    return services.slack  # type: ignore[no-any-return]


@router.post("/events", responses={200: {"description": "`{challenge}` for url_verification, else `{ok: true}`; "
                                          "the event is stored and answered in the background."}})
async def events(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Slack Events API: url_verification, message.im and app_mention (the Request URL of the Slack app)."""
    slack = _slack(services)
    body = await request.body()
    return await anyio.to_thread.run_sync(slack.receive_event, body, dict(request.headers))


@router.post("/interactions", status_code=200, response_class=Response)
async def interactions(request: Request, services: ServicesDep) -> Response:
    """Slack interactivity (the app's buttons): 👍/👎, Talk to a person, ticket ratings."""
    slack = _slack(services)
    body = await request.body()
    await anyio.to_thread.run_sync(slack.receive_action, body, dict(request.headers))
    return Response(status_code=200)

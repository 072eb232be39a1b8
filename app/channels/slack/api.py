"""The Slack Web API methods Ayuda calls, through the official SDK's WebClient (base URL from the settings).

auth.test (the bot's own user id, to skip its own messages and strip its mention), users.info (the e-mail
that makes a Slack user an Ayuda user), conversations.open (a DM), chat.postMessage, chat.update.
Errors are slack_sdk's SlackApiError / connection errors: callers let them fail the event or the outbox row,
which are retried."""

from __future__ import annotations

import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from app.config import Settings


class SlackApi:
    def __init__(self, settings: Settings) -> None:
        self.client = WebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url.rstrip("/") + "/", timeout=10,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(1)],
        )
        self._bot_user: str | None = None
        self._lock = threading.Lock()

    def bot_user(self) -> str:
        """The app's bot user id (auth.test, asked once)."""
        with self._lock:
            if self._bot_user is None:
                self._bot_user = str(self.client.auth_test()["user_id"])
            return self._bot_user

    def user_info(self, slack_user: str) -> dict[str, Any]:
        return dict(self.client.users_info(user=slack_user)["user"])

    def open_dm(self, slack_user: str) -> str:
        return str(self.client.conversations_open(users=[slack_user])["channel"]["id"])

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str:
        """Post a message; returns its ts."""
        response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                                unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

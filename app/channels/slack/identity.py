"""A Slack user becomes an Ayuda user by the e-mail of their Slack profile (users.info), with the groups of
AYUDA_SLACK_USER_GROUPS. Bots, deactivated accounts, guests, accounts without an e-mail and e-mails outside
AYUDA_SLACK_EMAIL_DOMAINS are not employees: they get a polite refusal (None here)."""

from __future__ import annotations

import datetime as dt
import logging

from slack_sdk.errors import SlackApiError

from app.auth.names import normalize
from app.channels.slack.api import SlackApi
from app.channels.slack.store import SlackStore
from app.config import Settings
from app.errors import BadRequest
from app.security import User, make_user

log = logging.getLogger(__name__)
FRESH = dt.timedelta(hours=1)  # how long users.info's answer is trusted (a deactivated account stops within it)


class SlackIdentity:
    def __init__(self, settings: Settings, api: SlackApi, store: SlackStore) -> None:
        self.settings, self.api, self.store = settings, api, store
        self.groups = {normalize(k): v for k, v in settings.slack_user_groups.items()}

    def user(self, slack_user: str) -> User | None:
        user_id = self.store.known_user(slack_user, FRESH)
        if user_id is None:
            user_id = self._lookup(slack_user)
            if user_id is None:
                self.store.forget_user(slack_user)
                return None
            self.store.remember_user(slack_user, user_id)
        return self._user(user_id)

    def _user(self, email: str) -> User | None:
        try:
            return make_user(email, [*self.groups.get("*", []), *self.groups.get(email, [])], source="e-mail")
        except BadRequest:
            return None

    def _lookup(self, slack_user: str) -> str | None:
        try:
            info = self.api.user_info(slack_user)
        except SlackApiError as e:
            if e.response.get("error") in ("user_not_found", "user_not_visible"):  # e.g. another workspace
                log.info("slack user %s is not visible to the app", slack_user)
                return None
            raise
        if info.get("deleted") or info.get("is_bot") or info.get("is_restricted") or info.get("is_ultra_restricted"):
            log.info("slack user %s is not an employee (bot, deactivated or guest)", slack_user)
            return None
        email = normalize(str((info.get("profile") or {}).get("email") or ""))
        if "@" not in email:
            log.info("slack user %s has no e-mail in their profile", slack_user)
            return None
        domains = self.settings.slack_domain_list
        if domains and email.rsplit("@", 1)[1] not in domains:
            log.info("slack user %s has an e-mail outside AYUDA_SLACK_EMAIL_DOMAINS", slack_user)
            return None
        return email if self._user(email) is not None else None

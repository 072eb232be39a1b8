"""Privacy operations over the database sessions: export, erase, retention (used by the CLI, the admin API and
the periodic job)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.errors import BadRequest
from app.privacy.subject import apply_retention, erase_user, export_user

log = logging.getLogger(__name__)
_USER = re.compile(r"^[\w.@+-]{1,200}$")  # the user ids app/security.py accepts


def _check(user_id: str) -> str:
    if not _USER.match(user_id or ""):
        raise BadRequest("user must be 1–200 characters: letters, digits, and . @ + - _")
    return user_id


class PrivacyService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings, self.sessions = settings, sessions
        self._last_retention = 0.0

    def export(self, user_id: str, actor: str) -> dict[str, Any]:
        with session_scope(self.sessions) as s:
            return export_user(s, _check(user_id), actor)

    def erase(self, user_id: str, actor: str) -> dict[str, Any]:
        with session_scope(self.sessions) as s:
            result = erase_user(s, _check(user_id), actor)
        log.info("privacy: erased a user as %s (%s)", result["pseudonym"], result)
        return result

    def retention(self, now: dt.datetime | None = None, actor: str = "ayuda") -> dict[str, int]:
        """One pass of the retention rule (AYUDA_RETENTION_DAYS); loops until nothing old is left."""
        total = {"conversations": 0, "tickets": 0}
        while True:
            with session_scope(self.sessions) as s:
                counts = apply_retention(s, self.settings.retention_days, now, actor)
            total = {k: total[k] + counts[k] for k in total}
            if not any(counts.values()):
                return total

    def retention_due(self) -> None:
        """The periodic job (run by the outbox worker's loop): at most every AYUDA_RETENTION_CHECK_SECONDS."""
        if self.settings.retention_days <= 0:
            return
        if time.monotonic() - self._last_retention < self.settings.retention_check_seconds and self._last_retention:
            return
        self._last_retention = time.monotonic()
        counts = self.retention()
        if any(counts.values()):
            log.info("retention: anonymised %s", counts)

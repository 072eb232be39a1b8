"""Rate limits by user, address or sender, counted with the `limits` library: in Redis (AYUDA_REDIS_URL), so every
replica shares the counts, or in process memory. Used by the HTTP routes (app/limits.py) and the channels."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.config import Settings
from app.errors import TooManyRequests

log = logging.getLogger(__name__)


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        uri = settings.redis_url or "memory://"
        self.storage = storage_from_string(uri, key_prefix="ayuda") if settings.redis_url \
            else storage_from_string(uri)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(value) if value else []
            for name, value in [("chat:user", settings.chat_rate_per_user), ("chat:ip", settings.chat_rate_per_ip),
                                ("tickets:user", settings.ticket_rate_per_user),
                                ("tickets:ip", settings.ticket_rate_per_ip),
                                ("mail:sender", settings.mail_rate_per_sender)]
        }

    def allow(self, rule: str, ident: str) -> bool:
        """Count one event for `ident` under `rule` (e.g. "mail:sender"); False when a limit is used up. Fails
        open like `hit`."""
        action, _, who = rule.partition(":")
        for item in self.rules[rule]:
            try:
                if not self.limiter.hit(item, action, who, ident):
                    return False
            except Exception as e:
                log.warning("rate limiter unavailable (%s); allowed", e)
                return True
        return True

    def hit(self, action: str, user_id: str, ip: str) -> None:
        """Count one request; TooManyRequests (429 + Retry-After) when a limit is already used up."""
        for who, ident in (("user", user_id), ("ip", ip)):
            for item in self.rules[f"{action}:{who}"]:
                try:
                    allowed = self.limiter.hit(item, action, who, ident)
                    reset = self.limiter.get_window_stats(item, action, who, ident).reset_time if not allowed else 0
                except Exception as e:  # the limiter's store is down: fail open, loudly
                    log.warning("rate limiter unavailable (%s); request allowed", e)
                    return
                if not allowed:
                    wait = max(1, math.ceil(reset - time.time()))
                    per = "you" if who == "user" else "your network address"
                    raise TooManyRequests(f"too many {action} requests from {per} (limit {item}); retry in {wait} s",
                                          retry_after=wait)

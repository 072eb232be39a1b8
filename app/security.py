"""Who is asking. Development mode: the user comes from X-Ayuda-User / X-Ayuda-Groups headers.
Real authentication modes replace `identify` and nothing else changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.errors import BadRequest
from app.retrieval.documents import EVERYONE

DEMO_USER = "demo.employee@brightwave.example"
_USER = re.compile(r"^[\w.@+-]{1,200}$")


@dataclass(frozen=True)
class User:
    id: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def visible_groups(self) -> set[str]:
        return set(self.groups) | {EVERYONE}


def identify(user_header: str | None, groups_header: str | None) -> User:
    user_id = (user_header or "").strip() or DEMO_USER
    if not _USER.match(user_id):
        raise BadRequest("X-Ayuda-User must be 1–200 characters: letters, digits, and . @ + - _")
    groups = frozenset(g.strip().lower() for g in (groups_header or "").split(",") if g.strip())
    return User(user_id, groups)

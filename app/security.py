"""Who is asking, and what they may do: the user, normalised identity values, and the roles.

How the user is found depends on AYUDA_AUTH_MODE (app/auth/): `dev` reads X-Ayuda-User / X-Ayuda-Groups,
`proxy` reads X-Forwarded-* from a trusted SSO proxy, `oidc` a session cookie or a bearer JWT. Every mode
ends in `make_user`, so ids and groups are compared the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.auth.names import normalize
from app.errors import BadRequest
from app.retrieval.documents import EVERYONE

DEMO_USER = "demo.employee@brightwave.example"
ADMIN_GROUP = "admins"
_USER = re.compile(r"^[\w.@+-]{1,200}$")
MAX_GROUPS = 200

# Headers that carry identity in some mode. A request repeating any of them is refused in every mode (a
# proxy that appends instead of replacing must not let a client's copy win).
IDENTITY_HEADERS = ("x-ayuda-user", "x-ayuda-groups", "x-forwarded-user", "x-forwarded-email",
                    "x-forwarded-groups", "x-ayuda-proxy-secret", "authorization", "x-csrf-token")


@dataclass(frozen=True)
class User:
    id: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def visible_groups(self) -> set[str]:
        return set(self.groups) | {EVERYONE}


def make_user(user_id: str, groups: Iterable[str], *, source: str = "X-Ayuda-User") -> User:
    uid = normalize(user_id)
    if not _USER.match(uid):
        raise BadRequest(f"{source} must be 1–200 characters: letters, digits, and . @ + - _")
    names = frozenset(g for g in (normalize(str(x)) for x in groups) if g)
    if len(names) > MAX_GROUPS:
        raise BadRequest(f"too many groups ({len(names)}; {MAX_GROUPS} at most)")
    return User(uid, names)


def header_text(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value read as UTF-8 (what SSO proxies send); the server hands it over as Latin-1."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def split_groups(header: str | None) -> list[str]:
    return [g for g in (header or "").split(",") if g.strip()]


def identify(user_header: str | None, groups_header: str | None) -> User:
    """Development identity (and the CLI's --user/--groups): missing user → the demo employee."""
    return make_user((user_header or "").strip() or DEMO_USER, split_groups(groups_header))


# --- roles -----------------------------------------------------------------------------------------
def agent_groups(queues: dict) -> set[str]:  # type: ignore[type-arg]
    """Groups whose members are agents of some queue (Settings.queues)."""
    return {normalize(q.group) for q in queues.values()}


def is_agent(user: User, queues: dict) -> bool:  # type: ignore[type-arg]
    return bool(user.groups & agent_groups(queues))


def is_admin(user: User) -> bool:
    return ADMIN_GROUP in user.groups

"""Document audiences outside retrieval: which stored texts (answers, ticket sources and drafts, analytics rows)
quote a restricted document, and who may read them.

An *audience* is a document's front-matter `audience` list; text that quotes several documents carries the
list of their restricted audiences and is shown only to someone in every one of them. Audiences are stored
with the text when it is written (the chat reply, the ticket's sources) and checked at read time against the
reader's groups, and — for ticket sources — also against the document's audience in the index being served,
so narrowing a document's audience later hides it from old tickets too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.retrieval.documents import EVERYONE, Hit

HIDDEN_ANSWER = "[hidden: this text quotes a document restricted to a group you are not in]"
AudienceOf = Callable[[str], list[str] | None]  # doc_id → its audience in the served index (None: unknown)


def visible(audience: list[str] | None, groups: set[str]) -> bool:
    """The rule of `Chunk.visible_to`: everyone, or a group the reader is in."""
    audience = audience or [EVERYONE]
    return EVERYONE in audience or bool(set(groups).intersection(audience))


def restricted(audiences: Iterable[list[str] | None]) -> list[list[str]]:
    """The distinct audiences that are not `everyone`, sorted (what is stored with a text)."""
    out = {tuple(sorted(a)) for a in audiences if a and EVERYONE not in a}
    return [list(a) for a in sorted(out)]


def may_read(audiences: Iterable[list[str]] | None, groups: set[str]) -> bool:
    return all(visible(a, groups) for a in audiences or [])


def reply_audiences(outcome: str, cited: Iterable[str], hits: list[Hit]) -> list[list[str]]:
    """Restricted audiences of the documents a reply shows: its citations, and for a clarify reply the
    titles it lists (the top hits)."""
    by_doc = {h.chunk.doc_id: h.chunk.audience for h in hits}
    docs = set(cited) | ({h.chunk.doc_id for h in hits[:6]} if outcome == "clarify" else set())
    return restricted(by_doc.get(d) for d in docs)


def _source_ok(source: dict[str, Any], groups: set[str], audience_of: AudienceOf | None) -> bool:
    current = audience_of(source.get("doc_id", "")) if audience_of else None
    return visible(source.get("audience"), groups) and (current is None or visible(current, groups))


def agent_view(transcript: list[dict[str, Any]], sources: list[dict[str, Any]], draft: str | None,
               groups: set[str], audience_of: AudienceOf | None = None
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """What an agent with `groups` may see of a ticket's transcript, bot sources and draft. The stored texts
    were retrieved for the requester (so they are at most what the requester could see); this keeps only what
    the agent may see too. The draft goes when any source it was composed from is hidden."""
    shown = [m if may_read(m.get("audiences"), groups) else m | {"content": HIDDEN_ANSWER}
             for m in transcript]
    kept = [s for s in sources if _source_ok(s, groups, audience_of)]
    hidden_draft = any(s.get("in_draft") and not _source_ok(s, groups, audience_of) for s in sources)
    return shown, kept, None if hidden_draft else draft


def narrowest(audiences: list[list[str]]) -> list[str] | None:
    """The groups in every restricted audience (for a FAQ written from restricted sources); [everyone] when
    none is restricted; None when they have no group in common."""
    sets = [set(a) for a in restricted(audiences)]
    if not sets:
        return [EVERYONE]
    common = set.intersection(*sets)
    return sorted(common) or None

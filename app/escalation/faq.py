"""Publish as FAQ: a resolved ticket's answer becomes a Markdown article in the corpus.

The article inherits the audience of the restricted documents the ticket's draft quoted (a managers-only
answer stays managers-only) and never carries personal data (app/privacy/mask.py).

First a draft (`<slug>.md.draft`, which the indexer ignores); when an agent confirms, it is renamed to
`.md` and the index is rebuilt incrementally (only the new article is embedded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.errors import Conflict
from app.escalation.models import Ticket
from app.escalation.service import TicketService
from app.privacy.access import narrowest
from app.privacy.mask import mask_text
from app.retrieval.chunking import slugify
from app.security import User

QUEUE_DEPARTMENT = {"hr": "hr", "payroll": "payroll", "it": "it", "facilities": "facilities"}


class FaqPublisher:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], tickets: TicketService,
                 reindex: Callable[..., tuple[dict[str, Any], bool]]) -> None:
        self.settings, self.sessions, self.tickets, self.reindex = settings, sessions, tickets, reindex

    def _paths(self, ticket: Ticket, title: str) -> tuple[Path, Path]:
        base = self.settings.corpus_dir / "faq" / f"{slugify(title)[:60]}-{ticket.number.lower()}.md"
        return base, base.with_name(base.name + ".draft")

    def draft(self, user: User, ticket_id: str, title: str | None, body: str | None) -> tuple[str, str]:
        with session_scope(self.sessions) as s:
            ticket = self.tickets._agent_ticket(s, user, ticket_id)
            if ticket.confidential:
                raise Conflict(f"ticket {ticket.number} is confidential and cannot become a public article")
            if ticket.status not in ("resolved", "closed"):
                raise Conflict(f"ticket {ticket.number} is {ticket.status}; publish it as a FAQ once it is resolved")
            replies = [e.body for e in ticket.events if e.kind == "agent_reply" and e.body]
            answer = body or (replies[-1] if replies else None)
            if not answer:
                raise Conflict(f"ticket {ticket.number} has no agent reply to publish; give the article body")
            audience = narrowest([src.get("audience") or [] for src in ticket.sources if src.get("in_draft")])
            if audience is None:
                raise Conflict(f"ticket {ticket.number}'s draft quoted documents for audiences with no group in "
                               "common; write the article from documents of one audience")
            # An article is read by many: personal data in the ticket's subject or reply never goes into it.
            title, subject, answer = mask_text(title or ticket.subject), mask_text(ticket.subject), mask_text(answer)
            live, draft = self._paths(ticket, title)
            meta = {
                "title": title, "department": QUEUE_DEPARTMENT.get(ticket.queue, "general"),
                "language": ticket.language, "audience": audience, "owner": user.id,
                "updated": dt.date.today().isoformat(), "url": f"{self.settings.public_url}/help/faq/{live.stem}",
                "source_ticket": ticket.number,
            }
            content = (f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n# {title}\n\n"
                       f"## {subject}\n\n{answer.strip()}\n")
            draft.parent.mkdir(parents=True, exist_ok=True)
            draft.write_text(content, encoding="utf-8")
            ticket.faq_path = str(draft)
            self.tickets._event(s, ticket, "faq_drafted", user.id, public=False, data={"path": str(draft)})
            return str(draft), content

    def confirm(self, user: User, ticket_id: str) -> tuple[str, str, str]:
        """Publish the draft into the corpus and queue a re-index job that reads it (a build already running
        may have read the corpus before the article was there). Returns (path, content, job id)."""
        with session_scope(self.sessions) as s:
            ticket = self.tickets._agent_ticket(s, user, ticket_id)
            if not ticket.faq_path or not ticket.faq_path.endswith(".draft") or not Path(ticket.faq_path).exists():
                raise Conflict(f"ticket {ticket.number} has no FAQ draft to confirm; create one first")
            draft = Path(ticket.faq_path)
            live = draft.with_name(draft.name.removesuffix(".draft"))
            draft.replace(live)
            ticket.faq_path = str(live)
            self.tickets._event(s, ticket, "faq_published", user.id, public=False, data={"path": str(live)})
            content = live.read_text(encoding="utf-8")
        job, _ = self.reindex(full=False, requested_by=user.id, changed_since_running=True)
        return str(live), content, job["job_id"]

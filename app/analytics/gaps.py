"""Content gaps: the questions the documents don't answer, clustered by topic, and FAQ drafts written from them.

A question is a gap when its reply escalated because retrieval failed (reason `low_confidence` or `no_results`;
not when the employee asked for a person or the topic is sensitive), asked the employee to clarify, or got 👎
(except replies to sensitive topics and conversations with a confidential ticket, which stay confidential). Gap questions are embedded with the app's
embedder (the contextualized search query, so a follow-up carries its topic), clustered greedily at cosine
GAP_COSINE, labelled with their most frequent content words and sorted by size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from app.analytics.data import Dataset, Turn
from app.analytics.similarity import QuestionEncoder, greedy_clusters, normalized, topic_label
from app.config import Settings
from app.errors import Conflict
from app.escalation.faq import QUEUE_DEPARTMENT
from app.retrieval.chunking import slugify

GAP_COSINE = 0.88  # e5 cosines are compressed: unrelated "How do I …?" questions reach 0.85, paraphrases ≥ 0.9
GAP_REASONS = ("low_confidence", "no_results")
PRIVATE_REASONS = ("sensitive", "human")
MAX_GAPS = 50
MAX_EXAMPLES = 5
MAX_DRAFT_QUESTIONS = 20


def is_gap(t: Turn) -> bool:
    if t.reason in PRIVATE_REASONS or t.confidential:
        return False
    return (t.outcome == "escalated" and t.reason in GAP_REASONS) or t.outcome == "clarify" or t.helpful is False


@dataclass
class Gap:
    id: str
    label: str
    turns: list[Turn]
    title: str  # the question closest to the cluster's centre, in its most common language
    queue: str | None

    @property
    def questions(self) -> list[str]:
        """Distinct questions, most recent first."""
        seen: dict[str, str] = {}
        for t in sorted(self.turns, key=lambda t: t.question.at, reverse=True):
            seen.setdefault(normalized(t.question.content), t.question.content)
        return list(seen.values())

    @property
    def languages(self) -> list[str]:
        return _languages(self.turns)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "count": len(self.turns), "examples": self.questions[:MAX_EXAMPLES],
                "languages": self.languages, "queue": self.queue}


def _languages(turns: list[Turn]) -> list[str]:
    """Languages of the questions, most frequent first (ties alphabetical)."""
    counts = Counter(t.question.language for t in turns)
    return sorted(counts, key=lambda lang: (-counts[lang], lang))


def _queue(turns: list[Turn], settings: Settings) -> str | None:
    """Where the cluster's questions went: the ticket queue, else the queue of the best hit's department."""
    votes: Counter[str] = Counter()
    for t in turns:
        if t.ticket_queue:
            votes[t.ticket_queue] += 1
        elif t.top_doc and "/" in t.top_doc:
            queue = settings.department_queues.get(t.top_doc.split("/", 1)[0])
            if queue:
                votes[queue] += 1
    return votes.most_common(1)[0][0] if votes else None


def content_gaps(ds: Dataset, settings: Settings, encoder: QuestionEncoder,
                 threshold: float = GAP_COSINE) -> list[Gap]:
    turns = [t for t in ds.turns if is_gap(t)]  # chronological: the clustering is deterministic
    if not turns:
        return []
    vectors = encoder.encode([t.question.search_query or t.question.content for t in turns])
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
    gaps = []
    for members in greedy_clusters(vectors, threshold):
        group = [turns[i] for i in members]
        centre = vectors[members].sum(axis=0)
        language = _languages(group)[0]
        in_language = [i for i in members if turns[i].question.language == language]
        central = max(in_language, key=lambda i: float(vectors[i] @ centre))
        gap_id = "gap-" + hashlib.sha1(group[0].question.id.encode()).hexdigest()[:10]
        label = topic_label([(t.question.content, t.question.language) for t in group])
        gaps.append(Gap(gap_id, label, group, turns[central].question.content.strip(), _queue(group, settings)))
    gaps.sort(key=lambda g: (-len(g.turns), -max(t.question.at for t in g.turns).timestamp(), g.label))
    return gaps[:MAX_GAPS]


def find_gap(gaps: list[Gap], gap_id: str) -> Gap | None:
    return next((g for g in gaps if g.id == gap_id), None)


def draft_article(settings: Settings, gap: Gap, owner: str) -> tuple[str, str]:
    """Write `corpus/faq/<slug>.md.draft` for a gap (the indexer ignores drafts until someone renames them).

    Same front matter as agent-published FAQs (app/escalation/faq.py). An existing draft is returned unchanged,
    so a second click never overwrites an edit; a published article of the same name is a conflict.
    """
    title = gap.title.rstrip("?¿!¡. ").lstrip("¿¡") or gap.label
    title = title[0].upper() + title[1:]
    slug = slugify(title)[:60].strip("-") or slugify(gap.label)
    live = Path(settings.corpus_dir) / "faq" / f"{slug}.md"
    draft = live.with_name(live.name + ".draft")
    if live.exists():
        raise Conflict(f"an article {live.name} already exists in the corpus; edit it instead")
    if draft.exists():
        return str(draft), draft.read_text(encoding="utf-8")
    meta = {
        "title": title, "department": QUEUE_DEPARTMENT.get(gap.queue or "", "general"),
        "language": gap.languages[0], "audience": ["everyone"], "owner": owner,
        "updated": dt.date.today().isoformat(), "url": f"{settings.public_url}/help/faq/{slug}",
        "source_gap": gap.id,
    }
    asked = "\n".join(f"- {q.strip()}" for q in gap.questions[:MAX_DRAFT_QUESTIONS])
    content = (f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n# {title}\n\n"
               f"## Questions employees asked\n\n{asked}\n\n## Answer\n\nTODO: write the answer\n")
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text(content, encoding="utf-8")
    return str(draft), content

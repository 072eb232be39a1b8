"""Answer composers. The extractive composer quotes the best passages; the LLM composer (app/chat/llm.py) writes
a short answer from them. Both go through `finalize`, which guarantees citation integrity:
every [n] in the answer points to a listed citation and every listed citation is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.chat.quote import choose
from app.chat.texts import language_name, t
from app.retrieval.documents import Hit
from app.retrieval.text import passage_tokens, tokenize
from app.retrieval.vectors import sentences

_MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    url: str
    snippet: str
    language: str

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        c = hit.chunk
        return cls(n, c.doc_id, c.title, c.section, c.link(), snippet(c.text), c.language)


@dataclass
class Composed:
    answer: str
    citations: list[Citation]
    llm: dict[str, Any] | None = None  # what the LLM composer did: {"result": ok | not_found | guard_* | error | timeout}


Emit = Callable[[str, dict[str, Any]], None]  # a streaming turn's events: ("citations", {...}), ("token", {...})


class Composer(Protocol):
    def compose(self, question: str, language: str, hits: list[Hit], emit: Emit | None = None) -> Composed: ...


def snippet(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: flat.rfind(" ", 0, limit)].rstrip(",;:") + "…"


def finalize(text: str, sources: list[Hit]) -> Composed:
    """Renumber [n] markers by first use (1-based into `sources`), drop markers that point nowhere and
    sources that are never cited."""
    mapping: dict[int, int] = {}
    used: list[Hit] = []

    def renumber(m: re.Match[str]) -> str:
        k = int(m.group(1))
        if not 1 <= k <= len(sources):
            return ""
        if k not in mapping:
            mapping[k] = len(used) + 1
            used.append(sources[k - 1])
        return f"[{mapping[k]}]"

    answer = re.sub(r"[ \t]+(?=\n|$)", "", _MARKER.sub(renumber, text)).strip()
    return Composed(answer, [Citation.from_hit(i + 1, h) for i, h in enumerate(used)])


def select_passages(hits: list[Hit], limit: int = 2) -> list[Hit]:
    """The best hit, plus a runner-up from another document when both retrievers rank it near the top too."""
    if not hits:
        return []
    first = hits[0]
    if first.chunk.section == first.chunk.title:  # a document's intro summarises; prefer its specific section
        first = next((h for h in hits[1:3] if h.chunk.doc_id == first.chunk.doc_id
                      and h.chunk.section != h.chunk.title and h.score >= hits[0].score * 0.97), first)
    chosen = [first]
    top = max(first.dense or 0.0, hits[0].dense or 0.0)
    for hit in hits[1:4]:
        if len(chosen) >= limit:
            break
        if hit.chunk.chunk_id == first.chunk.chunk_id:
            continue
        if hit.chunk.doc_id == first.chunk.doc_id:  # another section of the same document, almost as close
            if (hit.dense or 0.0) >= top - 0.006 and hit.chunk.section != hit.chunk.title:
                chosen.append(hit)
            continue
        agree = hit.dense_rank is not None and hit.bm25_rank is not None and max(hit.dense_rank, hit.bm25_rank) < 3
        if agree and (hit.dense or 0.0) >= top - 0.012 and hit.score >= hits[0].score * 0.9 \
                and not points_to(hit, first):
            chosen.append(hit)
    return chosen


def points_to(hit: Hit, page: Hit) -> bool:
    """The hit's passage refers to `page` (by its address or its title): an overview that sends the reader to
    the page already quoted adds nothing to the answer."""
    text = " ".join((hit.passage or hit.chunk.text).lower().split())
    url = page.chunk.url.split("#")[0].rstrip("/").lower()
    title = " ".join(page.chunk.title.lower().split())
    return bool(url and url in text) or (len(title) >= 8 and title in text)


def extract(text: str, question_tokens: set[str], language: str, budget: int = 650, heading: str = "",
            focus: str | None = None) -> str:
    """The part of a passage that answers (app/chat/quote.py): the whole passage if short, else the sentence,
    list or table around `focus` (the sentence closest to the question by meaning, which works across
    languages) when given, else around the unit sharing most words with the question."""
    def score(unit: str) -> int:
        return len(question_tokens.intersection(passage_tokens(unit, language)))

    heading_overlap = len(question_tokens.intersection(passage_tokens(heading, language))) if heading else 0
    return choose(text, score, budget, focus,
                  heading_is_question=lambda best: bool(heading) and heading_overlap >= max(best, 1))


class ExtractiveComposer:
    """Quotes the best passages verbatim, each followed by its [n]; interface text in the user's language."""

    def compose(self, question: str, language: str, hits: list[Hit], emit: Emit | None = None) -> Composed:
        passages = select_passages(hits)
        if not passages:
            return Composed("", [])
        tokens = set(tokenize(question, language)) | set(tokenize(question, "en"))
        source_langs = {h.chunk.language for h in passages}
        if source_langs == {language}:
            lead = t(language, "lead_same")
        else:
            other = next(code for code in source_langs if code != language)
            lead = t(language, "lead_other", source_language=language_name(language, other))
        parts = [lead]
        for i, hit in enumerate(passages, start=1):
            heading = hit.chunk.section.rsplit(" > ", 1)[-1]
            focus = sentences(hit.chunk.text)[hit.best_sentence] if hit.best_sentence is not None else None
            text = hit.passage or hit.chunk.text
            parts.append(f"{extract(text, tokens, hit.chunk.language, heading=heading, focus=focus)} [{i}]")
        return finalize("\n\n".join(parts), passages)


def suggest(language: str, hits: list[Hit], limit: int = 3) -> Composed:
    """Links to the closest pages (one per document), not a quote: for answers the bot is not sure of."""
    chosen: list[Hit] = []
    for hit in hits:
        if hit.chunk.doc_id not in {h.chunk.doc_id for h in chosen}:
            chosen.append(hit)
        if len(chosen) >= limit:
            break
    lines = [t(language, "suggest_pages")]
    for i, hit in enumerate(chosen, start=1):
        heading = hit.chunk.section.rsplit(" > ", 1)[-1]
        title = hit.chunk.title if heading == hit.chunk.title else f"{hit.chunk.title} — {heading}"
        lines.append(f"- {title} [{i}]")
    return finalize("\n".join(lines), chosen)

"""Answer composers. The extractive composer quotes the best passages; an LLM composer can implement the
same `Composer` protocol later. Both go through `finalize`, which guarantees citation integrity:
every [n] in the answer points to a listed citation and every listed citation is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from app.chat.texts import language_name, t
from app.retrieval.documents import Hit
from app.retrieval.text import tokenize
from app.retrieval.vectors import sentences

_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ¿¡\"(])")


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


class Composer(Protocol):
    def compose(self, question: str, language: str, hits: list[Hit]) -> Composed: ...


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
        if agree and (hit.dense or 0.0) >= top - 0.012 and hit.score >= hits[0].score * 0.9:
            chosen.append(hit)
    return chosen


def extract(text: str, question_tokens: set[str], language: str, budget: int = 650, heading: str = "",
            focus: str | None = None) -> str:
    """The part of a passage that answers: the whole passage if short, else the best window of lines/sentences:
    around `focus` (the sentence closest to the question by meaning, which works across languages) when given,
    else around the sentence sharing most words with the question."""
    text = text.strip()
    if len(text) <= budget:
        return text
    units: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        units.extend([line] if line.startswith(("-", "*", "|")) or re.match(r"^\d+[.)]", line)
                     else _SENTENCE.split(line))
    scores = [len(question_tokens.intersection(tokenize(u, language))) for u in units]
    best = max(range(len(units)), key=lambda i: (scores[i], -i))
    if focus:
        probe = " ".join(focus.split())[:40]
        best = next((i for i, u in enumerate(units) if probe and probe in " ".join(u.split())), best)
    if heading and len(question_tokens.intersection(tokenize(heading, language))) >= max(scores[best], 1):
        best = 0  # the section's heading is the question: its opening lines are the answer
    start = 0 if sum(len(u) + 1 for u in units[: best + 1]) <= budget * 0.6 else best
    # A list item reads badly without its list: go back to the line that introduces it.
    while start > 0 and _is_item(units[start]) and best - start < 8:
        start -= 1
    picked, size = [], 0
    for unit in units[start:]:
        if picked and size + len(unit) > budget:
            break
        picked.append(unit)
        size += len(unit) + 1
    joined = "\n".join(picked)
    cut = start + len(picked) < len(units)
    return ("… " if start else "") + joined + (" …" if cut else "")


def _is_item(unit: str) -> bool:
    return unit.startswith(("-", "*")) or bool(re.match(r"^\d+[.)]", unit))


class ExtractiveComposer:
    """Quotes the best passages verbatim, each followed by its [n]; interface text in the user's language."""

    def compose(self, question: str, language: str, hits: list[Hit]) -> Composed:
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
            parts.append(f"{extract(hit.chunk.text, tokens, hit.chunk.language, heading=heading, focus=focus)} [{i}]")
        return finalize("\n\n".join(parts), passages)

"""Documents, chunks and search hits: the data passed between loaders, the index and search."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from typing import Any

EVERYONE = "everyone"


def visible(audience: Collection[str], groups: AbstractSet[str]) -> bool:
    """Who may read a document: everyone, or members of a group in its audience."""
    return EVERYONE in audience or not groups.isdisjoint(audience)


@dataclass
class Document:
    """A loaded document, its body normalised to Markdown (headings as #)."""

    doc_id: str  # path relative to the corpus root
    title: str
    text: str
    department: str = "general"
    language: str = "en"
    audience: list[str] = field(default_factory=lambda: [EVERYONE])
    owner: str = ""
    updated: str = ""
    url: str = ""
    translation_key: str = ""
    content_hash: str = ""

    def meta(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("text")
        return data


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    section: str  # "Heading > Subheading"
    anchor: str  # slug of the deepest heading, for links to the section
    text: str  # the chunk's own text (shown as snippet / used by the composer)
    language: str
    department: str
    audience: list[str]
    url: str
    translation_key: str
    ordinal: int  # position of the chunk in its document

    def embed_text(self) -> str:
        """What gets embedded and BM25-indexed: title and section give each chunk its context."""
        head = f"{self.title} — {self.section}" if self.section and self.section != self.title else self.title
        return f"{head}\n{self.text}"

    def visible_to(self, groups: set[str]) -> bool:
        return visible(self.audience, groups)

    def link(self) -> str:
        return f"{self.url}#{self.anchor}" if self.url and self.anchor else self.url


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score (higher is better)
    dense: float | None = None  # cosine similarity of the question and the chunk
    sentence: float | None = None  # best cosine of the chunk or one of its sentences
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    rerank: float | None = None
    best_sentence: int | None = None  # the chunk's sentence closest to the question (app/retrieval/vectors.py)
    passage: str | None = None  # the whole section when it spans several chunks (what the composer quotes from)

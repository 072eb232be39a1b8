"""Header-aware chunking: one chunk per section, long sections split with overlap. Chunk ids are stable."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from app.retrieval.documents import Chunk, Document

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass(frozen=True)
class ChunkerParams:
    chunk_size: int = 1000
    chunk_overlap: int = 120
    version: int = 3  # bump when chunking or per-chunk vectors change, so builds re-embed everything
    # (2: sentence vectors, 3: heading vectors)

    def as_dict(self) -> dict[str, int]:
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap, "version": self.version}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "section"


def chunk_id(doc_id: str, section: str, ordinal: int, text: str) -> str:
    digest = hashlib.sha1(f"{doc_id}\x1f{section}\x1f{ordinal}\x1f{text}".encode()).hexdigest()
    return digest[:20]


def chunk_document(doc: Document, params: ChunkerParams = ChunkerParams()) -> list[Chunk]:
    header_splitter = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=params.chunk_size,
        chunk_overlap=params.chunk_overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
    )
    chunks: list[Chunk] = []
    per_section: dict[str, int] = {}
    for part in header_splitter.split_text(doc.text):
        headers = [part.metadata[key] for _, key in _HEADERS if key in part.metadata]
        # The document title heading adds nothing to a section path below it.
        if len(headers) > 1 and headers[0].strip().lower() == doc.title.strip().lower():
            headers = headers[1:]
        section = " > ".join(headers) or doc.title
        for piece in splitter.split_text(part.page_content):
            text = piece.strip()
            if not text:
                continue
            ordinal = per_section.get(section, 0)
            per_section[section] = ordinal + 1
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(doc.doc_id, section, ordinal, text),
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=section,
                    anchor=slugify(headers[-1]) if headers else "",
                    text=text,
                    language=doc.language,
                    department=doc.department,
                    audience=list(doc.audience),
                    url=doc.url,
                    translation_key=doc.translation_key,
                    ordinal=len(chunks),
                )
            )
    return chunks


def join_chunks(texts: list[str], longest_overlap: int = 400) -> str:
    """A section's chunks (in order) back as one text: each chunk's opening that repeats the end of the one
    before it (the splitter's overlap) is dropped. A blank line is kept as the Markdown splitter keeps it, a line
    ending in two spaces."""
    out = texts[0] if texts else ""
    for text in texts[1:]:
        k = next((k for k in range(min(len(out), len(text), longest_overlap), 7, -1) if out.endswith(text[:k])), 0)
        rest = text[k:]
        out += rest if k else (_break(out, rest) + rest)
    return out


_ITEM = re.compile(r"^\s*(?:[-*•|]|\d+[.)])\s?")


def _break(before: str, after: str) -> str:
    """What stood between two chunks that don't overlap: a line break inside a list or table, else a
    paragraph break."""
    last = before.rsplit("\n", 1)[-1]
    return "\n" if _ITEM.match(last) and _ITEM.match(after) else "  \n"

"""Help center: the documents a user may see, grouped by department, and one document rebuilt section by
section from the current index build (no access to the corpus folder: what is indexed is what is shown).

Pure service (no FastAPI): the routes in app/web/routes.py only parse and shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import NotFound, NotReady
from app.retrieval.chunking import slugify
from app.retrieval.documents import EVERYONE, Chunk
from app.retrieval.index import IndexStore, LoadedIndex

SECTION_SEP = " > "
# An overlap at least this long is taken as the splitter's overlap even without a word boundary:
# a coincidental 20-character match between the end of one chunk and the start of the next is implausible.
SURE_OVERLAP = 20


def visible(audience: list[str] | None, groups: set[str]) -> bool:
    """The same rule as `Chunk.visible_to`: everyone, or a group the user is in."""
    audience = audience or [EVERYONE]
    return EVERYONE in audience or bool(groups.intersection(audience))


def join_overlapping(first: str, second: str, max_overlap: int) -> str:
    """Join two consecutive pieces of one section, dropping the text the splitter repeated at the start of
    the second (its `chunk_overlap`)."""
    limit = min(len(first), len(second), max(max_overlap, 0) + 2)
    for k in range(limit, 0, -1):
        if not first.endswith(second[:k]):
            continue
        # The splitter keeps separators (". ", ", ", " ") at the start of a piece: a real overlap starts and
        # ends at a separator, i.e. next to a character that is not a letter or digit.
        ends_clean = k == len(second) or not second[k].isalnum()
        starts_clean = k == len(first) or not first[-k - 1].isalnum() or not second[0].isalnum()
        if k >= SURE_OVERLAP or (ends_clean and starts_clean and (k >= 3 or second[:k].isalnum())):
            return first + second[k:]
    # No overlap (it did not fit): a piece cut at ". " or ", " starts with that separator; otherwise the cut
    # was at a line or paragraph break, or between words, and a line break reads right in all three cases.
    return first + second if second[:1] in ".,;:" else f"{first}\n{second}"


@dataclass(frozen=True)
class Section:
    section: str  # the heading path, "Heading > Subheading" (the document title for its introduction)
    heading: str  # the deepest heading
    level: int  # 1 = a top heading below the title; 0 = the introduction under the title
    anchor: str  # slugify(heading): the `#anchor` of citations
    text: str  # Markdown, headings stripped (empty for a heading whose text is all in sub-sections)

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "heading": self.heading, "level": self.level, "anchor": self.anchor,
                "text": self.text}


def sections_of(title: str, chunks: list[Chunk], max_overlap: int) -> list[Section]:
    """Consecutive chunks of one section are merged; headings that only hold sub-sections get an empty
    entry so the page can show the whole outline."""
    merged: list[tuple[str, str, str]] = []  # (section, anchor, text)
    for c in chunks:
        if merged and merged[-1][0] == c.section:
            section, anchor, text = merged[-1]
            merged[-1] = (section, anchor, join_overlapping(text, c.text, max_overlap))
        else:
            merged.append((c.section, c.anchor, c.text))
    out: list[Section] = []
    shown: set[tuple[str, ...]] = set()
    for section, anchor, text in merged:
        parts = tuple(section.split(SECTION_SEP))
        if parts == (title,):  # the introduction, before the first sub-heading
            out.append(Section(section, title, 0, anchor or slugify(title), text))
            continue
        for depth in range(1, len(parts)):
            ancestor = parts[:depth]
            if ancestor not in shown:
                shown.add(ancestor)
                out.append(Section(SECTION_SEP.join(ancestor), ancestor[-1], depth, slugify(ancestor[-1]), ""))
        shown.add(parts)
        out.append(Section(section, parts[-1], len(parts), anchor or slugify(parts[-1]), text))
    return out


def _summary(doc_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"doc_id": doc_id, "title": meta.get("title") or doc_id, "department": meta.get("department") or "general",
            "language": meta.get("language") or "", "owner": meta.get("owner") or "",
            "updated": str(meta.get("updated") or ""), "url": meta.get("url") or "",
            "translation_key": meta.get("translation_key") or ""}


class HelpCenter:
    def __init__(self, store: IndexStore) -> None:
        self.store = store

    def _index(self) -> LoadedIndex:
        index = self.store.get()
        if index is None:
            raise NotReady(self.store.last_error or "no index build is loaded yet")
        return index

    def _visible_docs(self, index: LoadedIndex, groups: set[str]) -> dict[str, dict[str, Any]]:
        return {doc_id: meta for doc_id, meta in index.documents.items()
                if visible(meta.get("audience"), groups) and index.positions_of(doc_id)}

    def departments(self, groups: set[str]) -> dict[str, Any]:
        """{build_id, departments: [{department, documents: [...]}]}, departments and titles sorted."""
        index = self._index()
        by_department: dict[str, list[dict[str, Any]]] = {}
        for doc_id, meta in self._visible_docs(index, groups).items():
            doc = _summary(doc_id, meta)
            by_department.setdefault(doc["department"], []).append(doc)
        return {
            "build_id": index.build_id,
            "departments": [
                {"department": name, "documents": sorted(docs, key=lambda d: (d["title"].casefold(), d["doc_id"]))}
                for name, docs in sorted(by_department.items())
            ],
        }

    def document(self, doc_id: str, groups: set[str]) -> dict[str, Any]:
        """One document the user may see; NotFound for unknown and not-visible alike (no existence leak)."""
        index = self._index()
        docs = self._visible_docs(index, groups)
        meta = docs.get(doc_id)
        if meta is None:
            raise NotFound(f"document {doc_id} does not exist")
        chunks = sorted((index.chunks[i] for i in index.positions_of(doc_id)), key=lambda c: c.ordinal)
        overlap = int(index.manifest.get("chunker", {}).get("chunk_overlap", 120))
        doc = _summary(doc_id, meta)
        key = doc["translation_key"]
        doc["translations"] = sorted(
            ({"doc_id": other, "language": m.get("language") or "", "title": m.get("title") or other}
             for other, m in docs.items() if key and other != doc_id and m.get("translation_key") == key),
            key=lambda t: t["language"])
        doc["sections"] = [s.as_dict() for s in sections_of(doc["title"], chunks, overlap)]
        doc["build_id"] = index.build_id
        return doc

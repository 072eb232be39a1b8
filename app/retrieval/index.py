"""The on-disk index: index/<build-id>/{manifest.json, chunks.jsonl, vectors.npy, sentences.npy,
sentence_owners.npy, companion.npy, headings.npy, bm25/, df.json} and, for a large build, ann/ (FAISS HNSW
indexes, IVF in older builds, per vector set and language, app/retrieval/ann.py; the manifest's `dense_index`
says which sets have one).
Format 3; builds of formats 1-2 (with a flat faiss.index, no longer read) load with exact search everywhere.

`build_index` (app/retrieval/build.py) writes a new build and switches index/CURRENT atomically; `LoadedIndex`
is one build in memory; `IndexStore` serves the current build and picks up new ones in the background without
failing a request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from app.retrieval.ann import EXACT_BELOW, Allowed, DenseIndex
from app.retrieval.chunking import join_chunks
from app.retrieval.documents import Chunk, visible
from app.retrieval.language import Vocabulary
from app.retrieval.profile import Expected, check
from app.retrieval.text import tokenize
from app.retrieval.vectors import (
    ChunkVectors,
    sentence_max,
)

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
CURRENT = "CURRENT"
REFERENCE_CHUNKS = 4096  # the normalisation population: every chunk up to this, else a stratified sample




class IndexNotFound(Exception):
    """No index build is available (run `ayuda index`)."""






def current_build_dir(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    if not pointer.exists():
        return None
    build = Path(index_dir) / pointer.read_text().strip()
    return build if (build / "manifest.json").exists() else None








def languages_of(chunks: list[Chunk]) -> tuple[np.ndarray, list[str]]:
    """Each chunk's language number, and the languages by number (sorted: the same in every process)."""
    languages = sorted({c.language for c in chunks})
    number = {lang: n for n, lang in enumerate(languages)}
    return np.array([number[c.language] for c in chunks], dtype=np.int64), languages


def search_structures(chunks: list[Chunk], views: ChunkVectors, exact_below: int = EXACT_BELOW,
                      tokens: list[list[str]] | None = None) -> tuple[DenseIndex, bm25s.BM25, dict[str, int]]:
    """The dense search structures (exact, or HNSW per language above `exact_below` rows: app/retrieval/ann.py),
    the BM25 index and the document frequencies for chunks and their vectors (`tokens`: the chunks' BM25 tokens
    when already known, `_chunk_tokens`)."""
    codes, languages = languages_of(chunks)
    dense = DenseIndex.build(_matrices(views), codes, views.owners, languages, exact_below)
    if tokens is None:
        tokens = [tokenize(c.embed_text(), c.language) for c in chunks]
    sparse = bm25s.BM25()
    sparse.index(tokens, show_progress=False)
    return dense, sparse, dict(Counter(t for toks in tokens for t in set(toks)))






def save_tokens(folder: Path, tokens: list[list[str]]) -> None:
    """The chunks' BM25 tokens (tokens.json: one string per chunk, its tokens joined by spaces; a token has none)."""
    (folder / "tokens.json").write_text(json.dumps([" ".join(t) for t in tokens], ensure_ascii=False),
                                        encoding="utf-8")


def load_tokens(folder: Path) -> list[list[str]] | None:
    try:
        joined = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a build from before tokens were saved: tokenize again
        return None
    return [t.split(" ") if t else [] for t in joined]








def _matrices(views: ChunkVectors) -> dict[str, np.ndarray | None]:
    return {"chunks": views.chunks, "sentences": views.sentences, "headings": views.headings,
            "companion": views.companion}


@dataclass
class Visibility:
    """What members of one group set may see: chunks, and rows of each vector set (built once per group set)."""

    mask: np.ndarray  # (n,) bool, read-only
    count: int
    reference: np.ndarray  # mask over the reference chunks
    heading_reference: np.ndarray  # ... those with a real heading
    _allowed: dict[str, Allowed] = field(default_factory=dict)


@dataclass
class Signals:
    """A text's raw scores per signal over some chunks: e5 chunk cosine, best of chunk and sentence cosines, heading
    cosine, companion cosine (None when the build or the server has none)."""

    cosine: np.ndarray
    sentence: np.ndarray
    heading: np.ndarray | None
    companion: np.ndarray | None
    sentence_cosines: np.ndarray  # of the sentence rows below
    sentence_rows: np.ndarray  # (chunks + 1,) row range of each chunk in sentence_cosines


class LoadedIndex:
    """One build in memory: chunks, dense search structures (app/retrieval/ann.py) and BM25.

    Score normalisation (each signal centred per language, then z-scored over the chunks the user may see) uses a
    reference population fixed by the build: every chunk in an exact build (below ann.EXACT_BELOW rows, where a
    search scores every row anyway) or up to REFERENCE_CHUNKS; in a larger build with HNSW (or IVF) indexes, a sample
    stratified by language and audience, each sampled chunk weighted by its stratum's size. A query's statistics
    are its scores on that population, so they cost the same at 1M chunks as at 4k; where the population is every
    chunk they are the exhaustive ones exactly."""

    def __init__(self, path: Path, manifest: dict[str, Any], chunks: list[Chunk], views: ChunkVectors,
                 dense: DenseIndex, sparse: bm25s.BM25, df: dict[str, int]) -> None:
        self.path, self.manifest, self.chunks, self.df = path, manifest, chunks, df
        self.views, self.dense, self.sparse = views, dense, sparse
        self.vectors = views.chunks
        self.companion_id: str = (manifest.get("companion_model") or "") if views.companion is not None else ""
        self.language_of = np.array([c.language for c in chunks])
        self.language_code, self.languages = languages_of(chunks)
        self.has_heading = np.array([c.section != c.title for c in chunks], dtype=bool)  # not a bare title
        self.build_id: str = manifest["build_id"]
        self.model_id: str = manifest["embedding_model"]["id"]
        self.documents: dict[str, dict[str, Any]] = manifest["documents"]
        self._by_doc: dict[str, list[int]] = {}
        self._versions: dict[str, dict[str, str]] = {}
        self._by_section: dict[tuple[str, str], list[int]] = {}
        self._section_texts: dict[tuple[str, str], str] = {}
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        numbers = {doc_id: n for n, doc_id in enumerate(dict.fromkeys(c.doc_id for c in chunks))}
        self.doc_of = np.array([numbers[c.doc_id] for c in chunks], dtype=np.int64)  # each chunk's document number
        for i, c in enumerate(chunks):
            self._by_doc.setdefault(c.doc_id, []).append(i)
            self._by_section.setdefault((c.doc_id, c.section), []).append(i)
        self._doc_positions = [np.array(self._by_doc[d], dtype=np.int64) for d in numbers]
        audiences = [tuple(sorted(set(c.audience))) for c in chunks]
        number = {a: n for n, a in enumerate(dict.fromkeys(audiences))}
        self._audiences = list(number)  # the distinct audiences, and each chunk's one
        self._audience_of = np.array([number[a] for a in audiences], dtype=np.int64)
        self._visibility: dict[frozenset[str], Visibility] = {}
        # a group set's masks cost a byte per chunk and per sentence row: keep at most ~256 MB of them
        self._max_group_sets = int(min(1024, max(16, 2**28 // max(1, len(chunks) + len(views.owners)))))
        # a chunk's sentence vectors are contiguous and in reading order: rows [starts[i], starts[i + 1])
        self._sentence_rows = np.searchsorted(views.owners, np.arange(len(chunks) + 1))
        self._reference()

    @classmethod
    def load(cls, path: Path) -> LoadedIndex:
        manifest = json.loads((path / "manifest.json").read_text())
        with open(path / "chunks.jsonl", encoding="utf-8") as f:
            chunks = [Chunk(**json.loads(line)) for line in f]
        described = manifest.get("dense_index") if int(manifest.get("format", 1)) >= 3 else None
        approximate = any(s.get("kind") != "flat" for s in (described or {}).get("sets", {}).values())
        views = ChunkVectors.load(path, mmap=approximate)  # IVF holds those vectors: the files are only read
        if len(views) != len(chunks):
            raise ValueError(f"build {path.name} is inconsistent: {len(views)} vectors for {len(chunks)} chunks")
        codes, languages = languages_of(chunks)
        dense = DenseIndex.load(path / "ann", _matrices(views), codes, views.owners, languages, described)
        sparse = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        df = json.loads((path / "df.json").read_text())["df"]
        return cls(path, manifest, chunks, views, dense, sparse, df)

    def _reference(self) -> None:
        """The normalisation population: positions, weights (None: every chunk, unweighted) and their vectors."""
        n = len(self.chunks)
        if n <= REFERENCE_CHUNKS or not self.dense.approximate:  # an exact build scores every chunk anyway
            self.reference, self.reference_weights = np.arange(n), None
            self._reference_views = self.views
            return
        cells = self.language_code * len(self._audiences) + self._audience_of
        picked, weights = [], []
        for cell in np.unique(cells):
            members = np.flatnonzero(cells == cell)
            take = min(len(members), max(16, round(REFERENCE_CHUNKS * len(members) / n)))
            at = members[np.linspace(0, len(members) - 1, take).round().astype(np.int64)]
            picked.append(at)
            weights.append(np.full(len(at), len(members) / len(at)))
        order = np.argsort(np.concatenate(picked))
        self.reference = np.concatenate(picked)[order]
        self.reference_weights = np.concatenate(weights)[order]
        rows, owners = self._rows_of(self.reference)
        d = self.dense
        self._reference_views = ChunkVectors(
            d.chunks.rows(self.reference), d.sentences.rows(rows), owners.astype(np.int32),
            None if d.companion is None else d.companion.rows(self.reference),
            None if d.headings is None else d.headings.rows(self.reference))

    def _rows_of(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence rows of these chunks, and for each row the chunk's place in `positions`."""
        starts, ends = self._sentence_rows[positions], self._sentence_rows[positions + 1]
        lengths = ends - starts
        owners = np.repeat(np.arange(len(positions)), lengths)
        rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        return rows.astype(np.int64), owners

    @cached_property
    def doc_by_url(self) -> dict[str, str]:
        """Document id by its address (without a trailing slash), for links between pages."""
        return {str(meta["url"]).rstrip("/"): doc for doc, meta in self.documents.items() if meta.get("url")}

    @cached_property
    def doc_titles(self) -> dict[str, str]:
        """Each document's title, lowercased with its spaces normalised, for references to a page by title."""
        return {doc: " ".join(str(meta.get("title", "")).lower().split()) for doc, meta in self.documents.items()}

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The documents' words per language, for telling a short message's language (app/retrieval/language.py)."""
        return Vocabulary((c.embed_text(), c.language) for c in self.chunks)

    def visibility(self, groups: set[str]) -> Visibility:
        """What members of `groups` may see (`Chunk.visible_to`), computed once per distinct group set."""
        key = frozenset(groups)
        seen = self._visibility.get(key)
        if seen is None:
            allowed = np.array([visible(a, key) for a in self._audiences], dtype=bool)
            mask = allowed[self._audience_of] if len(self._audiences) else np.zeros(len(self.chunks), dtype=bool)
            mask.setflags(write=False)
            reference = mask[self.reference]
            seen = Visibility(mask, int(mask.sum()), reference, reference & self.has_heading[self.reference])
            if len(self._visibility) >= self._max_group_sets:  # a flood of distinct group sets must not grow memory
                self._visibility.clear()
            self._visibility[key] = seen
        return seen

    def visible_mask(self, groups: set[str]) -> np.ndarray:
        return self.visibility(groups).mask

    def allowed(self, seen: Visibility, name: str) -> Allowed:
        """The rows of vector set `name` a Visibility allows (sentence rows: those of visible chunks)."""
        if name not in seen._allowed:
            if name == "sentences":
                mask = seen.mask[self.views.owners]
            elif name == "headings":
                mask = seen.mask & self.has_heading
            else:
                mask = seen.mask
            seen._allowed.setdefault(name, Allowed(mask))  # made by two threads at once: both use the one kept
        return seen._allowed[name]

    def positions_in_documents(self, positions: np.ndarray) -> np.ndarray:
        """Every chunk of the documents of these chunks."""
        docs = np.unique(self.doc_of[positions])
        return np.concatenate([self._doc_positions[d] for d in docs]) if len(docs) else positions

    def idf(self, token: str) -> float:
        """Inverse document frequency over chunks; a token the corpus never uses gets the highest value."""
        import math

        return math.log((len(self.chunks) + 1) / (self.df.get(token, 0) + 0.5))

    def positions_of(self, doc_id: str) -> list[int]:
        return self._by_doc.get(doc_id, [])

    def versions_in(self, language: str) -> dict[str, str]:
        """translation_key -> the document that is its version in `language` (worked out once per language)."""
        found = self._versions.get(language)
        if found is None:
            found = {meta["translation_key"]: doc_id for doc_id, meta in self.documents.items()
                     if meta.get("translation_key") and meta.get("language") == language}
            self._versions[language] = found
        return found

    def section_of(self, position: int) -> list[int]:
        """Positions of the chunks of the section `position` belongs to, in reading order."""
        c = self.chunks[position]
        return self._by_section.get((c.doc_id, c.section), [position])

    def section_text(self, position: int) -> str:
        """The whole text of the section `position` belongs to (its chunks joined, overlaps dropped)."""
        key = (self.chunks[position].doc_id, self.chunks[position].section)
        if key not in self._section_texts:
            self._section_texts[key] = join_chunks([self.chunks[i].text for i in self.section_of(position)])
        return self._section_texts[key]

    # Raw scores of one text: over the reference population, and over any chunks.

    def reference_signals(self, query: np.ndarray, companion: np.ndarray | None) -> Signals:
        """The text's scores on the normalisation population (every chunk of a build up to REFERENCE_CHUNKS)."""
        v = self._reference_views
        q = query.astype("float32")
        cosine = v.chunks @ q
        sentence_cosines = v.sentences @ q
        return Signals(cosine, sentence_max(cosine, sentence_cosines, v.owners),
                       None if v.headings is None else v.headings @ q,
                       None if v.companion is None or companion is None else v.companion @ companion.astype("float32"),
                       sentence_cosines, np.searchsorted(v.owners, np.arange(len(cosine) + 1)))

    def signals(self, positions: np.ndarray, query: np.ndarray, companion: np.ndarray | None) -> Signals:
        """The text's scores on these chunks, from their rows only."""
        d, q = self.dense, query.astype("float32")
        cosine = d.chunks.rows(positions) @ q
        rows, owners = self._rows_of(positions)
        sentence_cosines = d.sentences.rows(rows) @ q if len(rows) else np.zeros(0, "float32")
        starts = np.searchsorted(owners, np.arange(len(positions) + 1))
        return Signals(cosine, sentence_max(cosine, sentence_cosines, owners),
                       None if d.headings is None else d.headings.rows(positions) @ q,
                       None if d.companion is None or companion is None
                       else d.companion.rows(positions) @ companion.astype("float32"),
                       sentence_cosines, starts)

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 of every chunk (bm25s adds each query token's postings into one array; no per-chunk work)."""
        known = [t for t in tokens if t in self.sparse.vocab_dict]
        if not known:
            return np.zeros(len(self.chunks), dtype="float32")
        return np.asarray(self.sparse.get_scores(known), dtype="float32")


class IndexStore:
    """Holds the current build; notices a new active build and swaps it in without blocking requests.

    The active build is `pointer()` (the database's, app/jobs/builds.py) when it names a build in the folder,
    else index/CURRENT. `serving(build_id)` is told which build this process serves after each check."""

    def __init__(self, index_dir: Path, *, check_seconds: float = 1.0, expected: Expected | None = None,
                 pointer: Callable[[], str | None] | None = None,
                 serving: Callable[[str | None], None] | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.pointer, self.serving = pointer, serving
        self.check_seconds = check_seconds
        self.expected = expected  # what this server is; a build it can't use is refused (app/retrieval/profile.py)
        self.warnings: list[str] = []  # how the build being served differs from what this server would build
        self._current: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._loading = False
        self._last_check = 0.0
        self.last_error: str | None = None

    def wanted(self) -> str | None:
        """The id of the build this process should serve."""
        active = self.pointer() if self.pointer is not None else None
        if active and (self.index_dir / active / "manifest.json").exists():
            return active
        try:
            return (self.index_dir / CURRENT).read_text().strip() or None
        except OSError:
            return None

    def load_now(self) -> LoadedIndex | None:
        wanted = self.wanted()
        build = self.index_dir / wanted if wanted else None
        if build is None or not (build / "manifest.json").exists():
            self.last_error = f"no index in {self.index_dir} (run `ayuda index`)"
            return None
        try:
            manifest = json.loads((build / "manifest.json").read_text())
            compatibility = check(manifest, self.expected) if self.expected is not None else None
            if compatibility is not None and compatibility.errors:  # keep serving the build we have
                self.last_error = compatibility.errors[0]
                log.error(self.last_error)
                return self._current
            loaded = LoadedIndex.load(build)
            _ = loaded.vocabulary  # built here, off the request path
        except Exception as e:  # keep serving the old build when a new one is unreadable
            self.last_error = f"index build {build.name} could not be loaded: {e}"
            log.error(self.last_error)
            return self._current
        for warning in compatibility.warnings if compatibility is not None else []:
            log.warning(warning)
        with self._lock:
            self._current, self.last_error = loaded, None
            self.warnings = compatibility.warnings if compatibility is not None else []
        log.info("serving index build %s (%d chunks)", loaded.build_id, len(loaded.chunks))
        if self.serving is not None:
            self.serving(loaded.build_id)
        return loaded

    def get(self) -> LoadedIndex | None:
        """The build to use for this request (never blocks on a reload once one is loaded)."""
        if self._current is None:
            return self.load_now()
        now = time.monotonic()
        if now - self._last_check >= self.check_seconds:
            self._last_check = now
            self._maybe_reload()
        return self._current

    def _maybe_reload(self) -> None:
        wanted = self.wanted()
        current = self._current
        if wanted is None or (current is not None and wanted == current.build_id):
            if self.serving is not None and current is not None:
                self.serving(current.build_id)
            return
        with self._lock:
            if self._loading:
                return
            self._loading = True

        def work() -> None:
            try:
                self.load_now()
            finally:
                self._loading = False

        threading.Thread(target=work, name="index-reload", daemon=True).start()

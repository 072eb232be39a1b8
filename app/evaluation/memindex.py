"""Indexes for an evaluation run: an in-memory index of `Document`s (benchmarks: nothing touches the disk),
or the sample corpus folder (the current build when it is up to date, else a build in a temporary folder)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from app.retrieval.build import build_index
from app.retrieval.chunking import ChunkerParams, chunk_document
from app.retrieval.documents import Document
from app.retrieval.embeddings import Embedder
from app.retrieval.index import IndexStore, LoadedIndex, current_build_dir, search_structures
from app.retrieval.loaders import LoadError, iter_corpus_files, load_document
from app.retrieval.profile import vector_recipe
from app.retrieval.vectors import embed_chunks, sentence_recipe

log = logging.getLogger(__name__)


class MemoryStore(IndexStore):
    """An IndexStore that serves one index built in memory (it never looks for new builds)."""

    def __init__(self, index: LoadedIndex) -> None:
        super().__init__(Path("<memory>"), check_seconds=float("inf"))
        self._current = index

    def get(self) -> LoadedIndex | None:
        return self._current


def build_memory_index(docs: list[Document], embedder: Embedder, params: ChunkerParams = ChunkerParams(),
                       progress: Callable[[int], None] | None = None) -> LoadedIndex:
    """The same chunks, vectors, FAISS and BM25 structures as `build_index`, without writing files."""
    chunks = [c for d in docs for c in chunk_document(d, params)]
    if not chunks:
        raise ValueError("no text to index")
    views = embed_chunks(chunks, embedder, progress=progress)
    dense, sparse, df = search_structures(chunks, views)
    build_id = "memory-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    manifest = {
        "build_id": build_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus_dir": "<memory>",
        "embedding_model": {"id": embedder.model_id, "dimension": embedder.dimension, "path": str(embedder.path)},
        "companion_model": embedder.companion_id,
        "vectors": {"sentences": sentence_recipe(embedder)},
        "chunker": params.as_dict(),
        "counts": {"documents": len(docs), "chunks": len(chunks)},
        "documents": {d.doc_id: d.meta() for d in docs},
    }
    return LoadedIndex(Path("<memory>"), manifest, chunks, views, dense, sparse, df)


def up_to_date(index_dir: Path, corpus_dir: Path, embedder: Embedder, params: ChunkerParams) -> Path | None:
    """The current build of `index_dir` when it was built from exactly this corpus, model and chunker."""
    build = current_build_dir(index_dir)
    if build is None:
        return None
    try:
        loaded = LoadedIndex.load(build)
    except Exception as e:  # an unreadable build is simply not reused
        log.info("current build %s not reusable: %s", build, e)
        return None
    manifest = loaded.manifest
    if Path(manifest.get("corpus_dir", "")) != corpus_dir.resolve() or loaded.model_id != embedder.model_id:
        return None
    if loaded.companion_id != embedder.companion_id:
        return None
    if manifest.get("chunker") != params.as_dict():
        return None
    if vector_recipe(manifest) != {"sentences": sentence_recipe(embedder)}:  # vectors made another way
        return None
    hashes = {}
    for path in iter_corpus_files(corpus_dir):
        try:
            doc = load_document(path, corpus_dir)
        except (LoadError, OSError):
            continue
        hashes[doc.doc_id] = doc.content_hash
    indexed = {doc_id: meta.get("content_hash") for doc_id, meta in loaded.documents.items()}
    return build if hashes == indexed else None


def corpus_index(corpus_dir: Path, index_dir: Path, scratch: Path, embedder: Embedder,
                 params: ChunkerParams) -> tuple[Path, str]:
    """(index folder to serve, how it was obtained): the current build if up to date, else a fresh build of the
    corpus in `scratch` (a temporary folder)."""
    if up_to_date(index_dir, corpus_dir, embedder, params):
        return index_dir, "current build (up to date with the corpus)"
    report = build_index(corpus_dir, scratch, embedder.path, lambda: embedder, params, full=True)
    return scratch, f"temporary build of {corpus_dir} ({report.chunks} chunks, {report.seconds:.0f} s)"

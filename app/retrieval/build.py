"""Writing a build: `build_index` reads the corpus, re-embeds only what changed since the previous build (whole
documents, or single chunks whose text and heading are unchanged), writes index/<build-id>/ (the format
app/retrieval/index.py reads) and switches index/CURRENT atomically; old builds are pruned."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec

import numpy as np

from app.retrieval.chunking import ChunkerParams, chunk_document
from app.retrieval.documents import Chunk, Document
from app.retrieval.embeddings import Embedder, fingerprint
from app.retrieval.index import (
    CURRENT,
    REFERENCE_CHUNKS,
    LoadedIndex,
    current_build_dir,
    load_tokens,
    save_tokens,
    search_structures,
)
from app.retrieval.loaders import SIDECAR_SUFFIX, LoadError, iter_corpus_files, load_document
from app.retrieval.profile import FORMAT_VERSION, vector_recipe
from app.retrieval.text import tokenize
from app.retrieval.vectors import (
    ChunkVectors,
    embed_chunks,
    embed_headings,
    heading_text,
    sentence_recipe,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
KEEP_BUILDS = 3


class CorpusError(Exception):
    """The corpus folder is missing, empty, or none of its documents could be read."""


@dataclass
class BuildReport:
    build_id: str
    path: Path
    documents: int = 0
    chunks: int = 0
    embedded_documents: int = 0
    reused_documents: int = 0
    deleted_documents: int = 0
    embedded_chunks: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    full: bool = False
    precision: str | None = None  # what the chunks embedded now were computed in ("bf16", "fp32"); None: none were


def _model_id(path: Path, dimension: int) -> str:
    return f"{Path(path).name}:{dimension}:{fingerprint(Path(path))}"


def _write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(data)
    os.replace(tmp, path)


def _one_build_at_a_time(
        build: Callable[Concatenate[Path, Path, P], BuildReport]) -> Callable[Concatenate[Path, Path, P], BuildReport]:
    """One build at a time per index folder, across processes (a file lock in the folder)."""

    @functools.wraps(build)
    def locked(corpus_dir: Path, index_dir: Path, *args: P.args, **kwargs: P.kwargs) -> BuildReport:
        from filelock import FileLock

        Path(index_dir).mkdir(parents=True, exist_ok=True)
        with FileLock(str(Path(index_dir) / ".build.lock")):
            return build(corpus_dir, index_dir, *args, **kwargs)
    return locked


@_one_build_at_a_time
def build_index(
    corpus_dir: Path,
    index_dir: Path,
    model_path: Path,
    get_embedder: Callable[[], Embedder],
    params: ChunkerParams = ChunkerParams(),
    *,
    full: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_chunks_embedded: Callable[[int], None] | None = None,
    profile: dict[str, Any] | None = None,
    prune: bool = True,
) -> BuildReport:
    """Build a new index build (one at a time per index folder, across processes).
    `profile`: the builder's ranking profile, recorded in the manifest (app/retrieval/profile.py).
    `prune`: delete all but the last KEEP_BUILDS builds; False when the caller prunes by what replicas serve
    (app/jobs/builds.py)."""
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist")
    files = iter_corpus_files(corpus_dir)
    if not files:
        raise CorpusError(f"corpus folder {corpus_dir} has no documents (.md, .txt, .html, .pdf, .docx)")

    build_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = BuildReport(build_id=build_id, path=index_dir / build_id, full=full)
    embedder = get_embedder()
    recipe = {"sentences": sentence_recipe(embedder)}
    previous = None if full else _previous_build(index_dir, params, Path(model_path), recipe)

    # A file whose size and times are those the previous build recorded is that build's document: not read again.
    docs: list[Document | str] = []  # a loaded document, or the id of one the previous build has as it is
    metas: dict[str, dict[str, Any]] = {}
    errors = []
    for path in files:
        doc_id, stamp = path.relative_to(corpus_dir).as_posix(), _file_stamp(path)
        old_meta = previous.documents.get(doc_id) if previous else None
        if old_meta is not None and stamp is not None and old_meta.get("file") == stamp:
            docs.append(doc_id)
            metas[doc_id] = old_meta
            continue
        try:
            loaded = load_document(path, corpus_dir)
        except (LoadError, OSError) as e:
            errors.append({"doc_id": doc_id, "reason": str(e)})
            continue
        docs.append(loaded)
        metas[doc_id] = {**loaded.meta(), "file": stamp}
    report.errors = errors
    if not docs:
        raise CorpusError(f"none of the {len(files)} documents in {corpus_dir} could be read: {errors[0]['reason']}")

    # Where each chunk's vectors come from: the previous build (an unchanged document, or an unchanged chunk of a
    # changed one: same text, same heading) or this build's encoder (chunks with the same text encoded once).
    chunks: list[Chunk] = []
    reused: list[int] = []  # positions in the previous build
    to_embed: list[Chunk] = []
    source: list[int] = []  # per chunk: its row in reused (>= 0), or -1 - its row in to_embed
    pending: dict[tuple[str, str], int] = {}
    same_tokens: list[int] = []  # per chunk: its position in the previous build when its document is unchanged
    for doc in docs:
        doc_id = doc if isinstance(doc, str) else doc.doc_id
        old = previous.documents.get(doc_id) if previous else None
        if previous and old and (isinstance(doc, str) or old["content_hash"] == doc.content_hash):
            positions = previous.positions_of(doc_id)
            chunks.extend(previous.chunks[i] for i in positions)
            source.extend(range(len(reused), len(reused) + len(positions)))
            reused.extend(positions)
            same_tokens.extend(positions)
            report.reused_documents += 1
            continue
        assert not isinstance(doc, str)
        known = {_vector_key(previous.chunks[i]): i for i in previous.positions_of(doc.doc_id)} if previous else {}
        for c in chunk_document(doc, params):
            chunks.append(c)
            same_tokens.append(-1)
            key = _vector_key(c)
            if key in known:
                source.append(len(reused))
                reused.append(known[key])
            else:
                if key not in pending:
                    pending[key] = len(to_embed)
                    to_embed.append(c)
                source.append(-1 - pending[key])
        report.embedded_documents += 1
    if previous:
        report.deleted_documents = len(set(previous.documents) - set(metas))

    if on_start:
        on_start(len(to_embed))
    fresh = embed_chunks(to_embed, embedder, progress=on_chunks_embedded)
    report.embedded_chunks = len(to_embed)
    report.precision = getattr(embedder, "precision", "fp32") if to_embed else None
    parts = ([previous.views.take(reused)] if previous and reused else []) + ([fresh] if to_embed else [])
    views = ChunkVectors.concat(parts, embedder.dimension)
    order = np.array([s if s >= 0 else len(reused) - 1 - s for s in source], dtype=np.int64)
    if len(order) != len(views) or (order != np.arange(len(order))).any():  # one take, not one per document
        views = views.take(order)
    if embedder.companion is None:
        views.companion = None
    elif previous is None or previous.companion_id != embedder.companion_id:  # new companion: encode all
        views.companion = embedder.companion.encode([c.embed_text() for c in chunks])
    if views.headings is None:  # reused vectors from a build made before heading vectors
        views.headings = embed_headings(chunks, embedder)
    model = {"id": embedder.model_id, "dimension": embedder.dimension, "path": str(embedder.path)}

    out = report.path
    out.mkdir(parents=True, exist_ok=False)
    try:  # a build that fails while writing leaves no half-written folder behind
        with open(out / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(vars(c), ensure_ascii=False) + "\n")  # its fields as asdict gives them, no deep copy
        views.save(out)
        tokens = _chunk_tokens(chunks, same_tokens, previous)
        save_tokens(out, tokens)
        dense, sparse, df = search_structures(chunks, views, tokens=tokens)
        dense.save(out / "ann")
        sparse.save(str(out / "bm25"), show_progress=False)
        (out / "df.json").write_text(json.dumps({"chunks": len(chunks), "df": df}, ensure_ascii=False))

        report.documents, report.chunks = len(metas), len(chunks)
        report.seconds = round(time.perf_counter() - started, 3)
        manifest = {
            "format": FORMAT_VERSION,
            "build_id": build_id,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "corpus_dir": str(corpus_dir.resolve()),
            "embedding_model": model,
            "companion_model": embedder.companion_id,
            "vectors": recipe,
            # what this build's newly encoded passages were computed in (reused vectors keep theirs)
            "passage_precision": report.precision,
            "chunker": params.as_dict(),
            "counts": {
                "documents": report.documents,
                "chunks": report.chunks,
                "sentence_vectors": len(views.sentences),
                "embedded_documents": report.embedded_documents,
                "reused_documents": report.reused_documents,
                "deleted_documents": report.deleted_documents,
                "embedded_chunks": report.embedded_chunks,
                "errors": len(errors),
            },
            "build_seconds": report.seconds,
            "dense_index": dense.describe(),
            "normalisation": {"reference_chunks": REFERENCE_CHUNKS},
            "documents": metas,
            "errors": errors,
        }
        if profile is not None:
            manifest["ranking_profile"] = profile
        (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    _write_atomic(index_dir / CURRENT, build_id)
    if prune:
        _prune(index_dir, keep=build_id)
    return report


def _file_stamp(path: Path) -> list[int] | None:
    """Size, modification and change times of a corpus file and its metadata sidecar: equal stamps mean the
    file was not written since (a copy or a checkout gets a new change time, so it is read again)."""
    try:
        stamp: list[int] = []
        for f in (path, path.with_name(path.name + SIDECAR_SUFFIX)):
            if f is path or f.exists():
                st = f.stat()
                stamp += [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        return stamp
    except OSError:
        return None


def _chunk_tokens(chunks: list[Chunk], previous_positions: list[int],
                  previous: LoadedIndex | None) -> list[list[str]]:
    """Each chunk's BM25 tokens: the previous build's for chunks of unchanged documents (position >= 0), when it
    saved them; tokenized otherwise."""
    old = load_tokens(previous.path) if previous is not None and any(p >= 0 for p in previous_positions) else None
    return [old[p] if old is not None and p >= 0 else tokenize(c.embed_text(), c.language)
            for c, p in zip(chunks, previous_positions, strict=True)]


def _vector_key(chunk: Chunk) -> tuple[str, str]:
    """What a chunk's vectors depend on: the text it is embedded as and its heading."""
    return chunk.embed_text(), heading_text(chunk)


def _previous_build(index_dir: Path, params: ChunkerParams, model_path: Path,
                    recipe: dict[str, str]) -> LoadedIndex | None:
    build = current_build_dir(index_dir)
    if build is None:
        return None
    try:
        prev = LoadedIndex.load(build)
    except Exception as e:  # a damaged previous build only means a full rebuild
        log.warning("previous build %s unreadable (%s); rebuilding everything", build, e)
        return None
    if prev.manifest.get("chunker") != params.as_dict():
        return None
    if prev.model_id != _model_id(model_path, prev.manifest["embedding_model"]["dimension"]):
        return None  # another model: every chunk must be embedded again
    if vector_recipe(prev.manifest) != recipe:
        log.info("previous build %s made its vectors another way (%s); re-embedding everything",
                 build.name, vector_recipe(prev.manifest))
        return None
    return prev


def _prune(index_dir: Path, keep: str) -> None:
    builds = sorted(
        (p for p in index_dir.iterdir() if p.is_dir() and (p / "manifest.json").exists() and p.name != keep),
        key=lambda p: p.name,
    )
    for old in builds[: max(0, len(builds) - (KEEP_BUILDS - 1))]:
        shutil.rmtree(old, ignore_errors=True)

"""The vectors behind each chunk: the chunk's own e5 vector, one e5 vector per sentence of the chunk
(a question usually matches one sentence better than a whole section), the e5 vector of the chunk's heading
encoded as a query (a heading that is nearly the question is strong evidence: "How many days of annual
leave do I get?"), and optionally the companion encoder's vector. Stored beside the chunks in every build."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from app.retrieval.documents import Chunk

if TYPE_CHECKING:
    from app.retrieval.embeddings import Embedder

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
MIN_SENTENCE_CHARS = 25  # shorter pieces are joined to the one before


def sentences(text: str) -> list[str]:
    """The chunk's sentences (and list items); a chunk of one sentence has no separate sentence vectors."""
    out: list[str] = []
    for line in text.split("\n"):
        for piece in SENTENCE_BREAK.split(line.strip()):
            piece = piece.strip()
            if not piece:
                continue
            if out and len(out[-1]) < MIN_SENTENCE_CHARS:
                out[-1] += " " + piece
            else:
                out.append(piece)
    return out if len(out) > 1 else []


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each of `sentences(text)` lies in `text`: (start, end) character offsets, one per sentence (a sentence
    joined from short pieces spans them and what lies between)."""
    out: list[tuple[int, int]] = []
    joined: list[int] = []  # each sentence's length as `sentences` joins it
    line_start = 0
    for line in text.split("\n"):
        stripped = line.strip()
        base = line_start + len(line) - len(line.lstrip())
        line_start += len(line) + 1
        cut = 0
        for end in [*(m.start() for m in SENTENCE_BREAK.finditer(stripped)), len(stripped)]:
            raw = stripped[cut:end]
            start = base + cut + len(raw) - len(raw.lstrip())
            cut = next((m.end() for m in SENTENCE_BREAK.finditer(stripped, end) if m.start() == end), end)
            piece = raw.strip()
            if not piece:
                continue
            if out and joined[-1] < MIN_SENTENCE_CHARS:
                out[-1] = (out[-1][0], start + len(piece))
                joined[-1] += 1 + len(piece)
            else:
                out.append((start, start + len(piece)))
                joined.append(len(piece))
    return out if len(out) > 1 else []


def sentence_texts(chunk: Chunk) -> list[str]:
    head = chunk.embed_text().split("\n", 1)[0]  # title (and section) give each sentence its context
    return [f"{head}\n{s}" for s in sentences(chunk.text)]


def heading_text(chunk: Chunk) -> str:
    """The chunk's own heading (the last level of its section path), or the document title for an intro."""
    return chunk.section.rsplit(" > ", 1)[-1].strip() or chunk.title


def embed_headings(chunks: Sequence[Chunk], embedder: Embedder) -> np.ndarray:
    """One vector per chunk: its heading encoded like a question (each distinct heading encoded once)."""
    texts = [heading_text(c) for c in chunks]
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, embedder.dimension), "float32")
    vectors = embedder.encode_queries(unique)
    row = {text: i for i, text in enumerate(unique)}
    return np.ascontiguousarray(vectors[[row[t] for t in texts]], dtype="float32")


@dataclass
class ChunkVectors:
    chunks: np.ndarray  # (n, d) one e5 vector per chunk
    sentences: np.ndarray  # (m, d) e5 vectors of the chunks' sentences
    owners: np.ndarray  # (m,) position of the chunk each sentence vector belongs to
    companion: np.ndarray | None = None  # (n, d2) the companion encoder's chunk vectors
    headings: np.ndarray | None = None  # (n, d) e5 query vectors of the chunks' headings

    def __len__(self) -> int:
        return len(self.chunks)

    def take(self, positions: Sequence[int] | np.ndarray) -> ChunkVectors:
        """The vectors of some chunks, renumbered 0..len(positions)-1 in that order."""
        at = np.asarray(positions, dtype=np.int64)
        renumber = np.full(len(self.chunks), -1, dtype=np.int64)
        renumber[at] = np.arange(len(at))
        new_owner = renumber[self.owners]
        keep = np.flatnonzero(new_owner >= 0)
        keep = keep[np.argsort(new_owner[keep], kind="stable")]  # in the order of `positions`
        return ChunkVectors(self.chunks[at], self.sentences[keep], new_owner[keep].astype(np.int32),
                            None if self.companion is None else self.companion[at],
                            None if self.headings is None else self.headings[at])

    @staticmethod
    def concat(parts: Sequence[ChunkVectors], dimension: int) -> ChunkVectors:
        offsets = np.cumsum([0, *[len(p) for p in parts]])
        comp = [p.companion for p in parts]
        heads = [p.headings for p in parts]
        return ChunkVectors(
            np.vstack([p.chunks for p in parts]).astype("float32") if parts else np.zeros((0, dimension), "float32"),
            np.vstack([p.sentences for p in parts] or [np.zeros((0, dimension), "float32")]).astype("float32"),
            np.concatenate([p.owners + off for p, off in zip(parts, offsets, strict=False)] or
                           [np.zeros(0, np.int32)]).astype(np.int32),
            np.vstack([c for c in comp if c is not None]).astype("float32")
            if parts and all(c is not None for c in comp) else None,
            np.vstack([h for h in heads if h is not None]).astype("float32")
            if parts and all(h is not None for h in heads) else None,
        )

    def save(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self.chunks)
        np.save(folder / "sentences.npy", self.sentences)
        np.save(folder / "sentence_owners.npy", self.owners)
        if self.companion is not None:
            np.save(folder / "companion.npy", self.companion)
        if self.headings is not None:
            np.save(folder / "headings.npy", self.headings)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = False) -> ChunkVectors:
        """`mmap`: the matrices memory-mapped, not read (a large build whose IVF indexes hold the vectors: only the
        rows a search asks for are read)."""
        mode: Literal["r"] | None = "r" if mmap else None
        chunks = np.load(folder / "vectors.npy", mmap_mode=mode)
        if (folder / "sentences.npy").exists():
            sents, owners = np.load(folder / "sentences.npy", mmap_mode=mode), np.load(folder / "sentence_owners.npy")
        else:  # a build from before sentence vectors: chunk vectors only
            sents, owners = np.zeros((0, chunks.shape[1]), "float32"), np.zeros(0, np.int32)
        companion = np.load(folder / "companion.npy", mmap_mode=mode) if (folder / "companion.npy").exists() else None
        headings = np.load(folder / "headings.npy", mmap_mode=mode) if (folder / "headings.npy").exists() else None
        return cls(chunks, sents, owners, companion, headings)


def sentence_recipe(embedder: Embedder) -> str:
    """How this embedder makes sentence vectors, recorded in each build's manifest ("vectors"): "pooled" (from the
    chunk pass's token embeddings, `Embedder.encode_passages_pooled`) or "encoded" (each sentence encoded alone,
    the only way before, and still the way for a model whose pooling can't be reproduced from token embeddings)."""
    wants = getattr(embedder, "sentence_vectors", "encoded")
    return "pooled" if wants == "pooled" and getattr(embedder, "can_pool_spans", False) else "encoded"


def sentence_groups(chunk: Chunk) -> list[list[tuple[int, int]]]:
    """For each of the chunk's sentences, the character ranges of `chunk.embed_text()` that `sentence_texts` puts
    in its text: the head line (title and section) and the sentence."""
    head = len(chunk.embed_text().split("\n", 1)[0])
    return [[(0, head), (head + 1 + a, head + 1 + b)] for a, b in sentence_spans(chunk.text)]


def embed_chunks(chunks: Sequence[Chunk], embedder: Embedder,
                 progress: Callable[[int], None] | None = None) -> ChunkVectors:
    """All vectors of these chunks. `progress` is called with a number of chunks done, while the encoder works.

    With pooled sentence vectors (`sentence_recipe`) one pass over all the chunks, batched by token length across
    documents, gives the chunk vectors and the sentence vectors. Otherwise two passes, each batched by length
    across documents: the chunks, then their sentences (identical sentence texts encoded once); `progress`
    advances with both, in proportion to their characters."""
    empty = np.zeros((0, embedder.dimension), "float32")
    owners: list[int] = []
    if sentence_recipe(embedder) == "pooled" and chunks:
        spans = [sentence_groups(c) for c in chunks]
        matrix, pooled = embedder.encode_passages_pooled([c.embed_text() for c in chunks], spans, progress=progress)
        owners = [i for i, groups in enumerate(spans) for _ in groups]
        sentence_matrix = np.vstack([p for p in pooled if len(p)]) if owners else empty
        cut = np.flatnonzero(~np.abs(sentence_matrix).any(axis=1))  # past the encoder's length limit: encode alone
        if len(cut):
            every = [t for c in chunks for t in sentence_texts(c)]
            sentence_matrix[cut] = embedder.encode_passages([every[r] for r in cut], batch_size=64)
    else:
        texts = [c.embed_text() for c in chunks]
        per_chunk = [sentence_texts(c) for c in chunks]
        unique = list(dict.fromkeys(t for ts in per_chunk for t in ts))
        row = {t: i for i, t in enumerate(unique)}
        ticks = _Progress(len(chunks), progress, [texts, unique])
        matrix = embedder.encode_passages(texts, progress=ticks.of(0)) if texts else empty
        encoded = embedder.encode_passages(unique, batch_size=64, progress=ticks.of(1)) if unique else empty
        owners = [i for i, ts in enumerate(per_chunk) for _ in ts]
        sentence_matrix = encoded[[row[t] for ts in per_chunk for t in ts]] if owners else empty
        ticks.finish()
    companion = embedder.companion.encode([c.embed_text() for c in chunks]) if embedder.companion else None
    return ChunkVectors(np.ascontiguousarray(matrix, dtype="float32"), np.ascontiguousarray(sentence_matrix,
                        dtype="float32"), np.array(owners, dtype=np.int32), companion, embed_headings(chunks, embedder))


class _Progress:
    """Chunks-done counts for `progress` while passes over other texts run, each pass weighted by its characters."""

    def __init__(self, chunks: int, progress: Callable[[int], None] | None, passes: list[list[str]]) -> None:
        self.chunks, self.progress, self.done, self.reported = chunks, progress, 0.0, 0
        chars = [sum(map(len, texts)) for texts in passes]
        total = sum(chars) or 1
        self.shares = [(c / total, len(texts)) for c, texts in zip(chars, passes, strict=True)]

    def of(self, n: int) -> Callable[[int], None]:
        share, count = self.shares[n]

        def tick(k: int) -> None:
            self.done += share * k / max(count, 1)
            self._report(min(self.chunks, int(self.done * self.chunks)))
        return tick

    def finish(self) -> None:
        self._report(self.chunks)

    def _report(self, now: int) -> None:
        if self.progress is not None and now > self.reported:
            self.progress(now - self.reported)
            self.reported = now


def sentence_max(scores: np.ndarray, sentence_scores: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Per chunk: the best of its own score and its sentences' scores."""
    best = scores.copy()
    if len(owners):
        np.maximum.at(best, owners, sentence_scores)
    return best

"""Hybrid retrieval: e5 (chunks and their sentences), the companion encoder and BM25, each score normalised
over the index (z-scores) and summed with weights; ACL-filtered, optionally reranked.

Score fusion beats reciprocal-rank fusion here because it keeps *how far* a chunk stands out: on FaQuAD
(Portuguese, one language) BM25 at weight 0.15 lifts recall@1 from .73 to .84 where RRF managed .75; the
sweeps are in eval/README.md. The top fused score is also a confidence signal (app/chat/confidence.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.retrieval.documents import Hit
from app.retrieval.embeddings import Embedder
from app.retrieval.index import IndexNotFound, IndexStore, LoadedIndex
from app.retrieval.language import detect_language
from app.retrieval.profile import Expected, check
from app.retrieval.rerank import Reranker
from app.retrieval.text import query_tokens
from app.retrieval.vectors import SENTENCE_BREAK, sentences

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the z-normalised scores; the chunk's own e5 cosine counts 1."""

    sentence: float = 1.0  # best e5 cosine among the chunk's sentences
    companion: float = 0.7  # the companion encoder's cosine
    bm25: float = 0.15  # BM25, for chunks in the question's language
    bm25_cross: float = 0.15  # BM25, for chunks in another language (only names and numbers can match)
    heading: float = 0.5  # the chunk's heading, encoded as a question, against the question
    follow_up: float = 2.0  # within a document, how much a chunk the follow-up alone matches less loses


@dataclass
class SearchResult:
    hits: list[Hit]
    build_id: str
    query_vector: np.ndarray
    idf: Callable[[str], float]


def zscore(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scores in standard deviations from the mean of the visible chunks."""
    values = scores[mask]
    std = float(values.std()) if len(values) > 1 else 0.0
    return (scores - float(values.mean())) / std if std > 1e-9 else np.zeros_like(scores)


def ranks(scores: np.ndarray, mask: np.ndarray, positions: list[int]) -> dict[int, int]:
    """The rank among the `mask` chunks (0 = best; ties by position) of each of `positions` that is in the mask."""
    inside = [i for i in positions if mask[i]]
    if not inside:
        return {}
    values, at = scores[mask], np.flatnonzero(mask)
    mine = scores[inside][:, None]
    above = (values[None, :] > mine) | ((values[None, :] == mine) & (at[None, :] < np.array(inside)[:, None]))
    return dict(zip(inside, above.sum(axis=1).tolist(), strict=True))


def best(scores: np.ndarray, candidates: np.ndarray, m: int) -> list[int]:
    """The `m` best-scoring candidates, best first (ties by position)."""
    at = np.flatnonzero(candidates)
    if len(at) > m:  # everything as good as the m-th best, so that ties keep the lower positions
        at = at[scores[at] >= -np.partition(-scores[at], m - 1)[m - 1]]
    return [int(i) for i in at[np.lexsort((at, -scores[at]))][:m]]


class HybridSearcher:
    def __init__(self, store: IndexStore, embedder: Embedder, *, reranker: Reranker | None = None,
                 retrieve_k: int = 40, weights: FusionWeights = FusionWeights(),
                 language_debias: bool = True) -> None:
        self.store, self.embedder, self.reranker = store, embedder, reranker
        self.retrieve_k, self.weights = retrieve_k, weights
        self.language_debias = language_debias  # centre each encoder's scores per chunk language
        self._warned_build = ""
        self._usable_build = ""  # the last build `check` found this server can use

    def index(self) -> LoadedIndex:
        index = self.store.get()
        if index is None:
            raise IndexNotFound(self.store.last_error or "no index loaded")
        if index.build_id != self._usable_build:  # checked once per build, not on every search
            problems = check(index.manifest, Expected(self.embedder.model_id))
            if problems.errors:
                raise IndexNotFound(problems.errors[0])
            self._usable_build = index.build_id
        return index

    def detect_language(self, text: str) -> tuple[str, float]:
        """The text's language, with the loaded documents' vocabulary when there is a build."""
        index = self.store.get()
        return detect_language(text, index.vocabulary if index is not None else None)

    def search(self, query: str, *, language: str, groups: set[str], k: int = 8,
               mode: str = "hybrid", rerank: bool = True, follow_up: str | None = None,
               vectors: np.ndarray | None = None) -> SearchResult:
        """The top k chunks for `query`. For a follow-up, `query` is the conversation's question with the
        follow-up added, and `follow_up` the follow-up alone: it votes again, so the section it asks about wins
        within the topic ("what about New Year's Eve?" after a question about Christmas). `vectors`: the e5
        vectors of [query, follow_up] when the caller has them already."""
        index = self.index()
        w = self.weights
        follow_up = follow_up if follow_up and w.follow_up else None
        if vectors is None or len(vectors) < (2 if follow_up else 1):  # the caller's: e5 of [query, follow_up]
            vectors = self.embedder.encode_queries([query, follow_up] if follow_up else [query])
        qvec = vectors[0]
        visible = index.visible_mask(groups)
        if not visible.any():
            return SearchResult([], index.build_id, qvec, index.idf)
        dense, cosine, sentence, sentence_cosines = self._dense(index, query, qvec, visible)
        if follow_up:  # within each document, the sections the follow-up itself asks about come first
            alone = self._dense(index, follow_up, vectors[1], visible)[0]
            dense = dense - w.follow_up * below_document_best(alone, index.doc_of, visible)
        bm25 = index.bm25_scores(query_tokens(query, language))
        matched = visible & (bm25 > 0)
        if mode == "bm25":
            fused, candidates = zscore(bm25, visible), matched
        elif mode == "dense":
            fused, candidates = dense, visible
        else:
            weight = np.where(index.language_of == language, w.bm25, w.bm25_cross)
            fused, candidates = dense + weight * zscore(bm25, visible), visible
        top = best(fused, candidates, max(k, self.retrieve_k))
        dense_rank, bm25_rank = ranks(dense, visible, top), ranks(bm25, matched, top)
        hits = [Hit(index.chunks[i], float(fused[i]), dense=float(cosine[i]), sentence=float(sentence[i]),
                    bm25=float(bm25[i]) if bm25[i] > 0 else None, dense_rank=dense_rank.get(i),
                    bm25_rank=bm25_rank.get(i), best_sentence=index.best_sentence(i, sentence_cosines)) for i in top]
        hits = prefer_language(hits, language, index, cosine, sentence, visible, sentence_cosines)
        hits = follow_pointers(hits, index)
        if rerank and self.reranker is not None and hits:
            hits = self.reranker.rerank(query, hits[: max(k * 3, 20)])
        return SearchResult(whole_sections(hits[:k], index), index.build_id, qvec, index.idf)

    def _dense(self, index: LoadedIndex, query: str, qvec: np.ndarray,
               visible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The encoders' fused z-scores for one text, with e5's chunk cosines, best-of-sentence scores and
        sentence cosines."""
        w = self.weights
        cosine = index.dense_scores(qvec)
        sentence_cosines = index.sentence_cosines(qvec)
        sentence = index.sentence_scores(cosine, sentence_cosines)
        centre = index.centre_by_language if self.language_debias else (lambda s: s)
        dense = zscore(centre(cosine), visible) + w.sentence * zscore(centre(sentence), visible)
        heading = index.heading_scores(qvec)
        if heading is not None and w.heading:  # only real section headings: a bare document title says little
            dense += w.heading * np.where(index.has_heading, zscore(centre(heading), visible & index.has_heading), 0.0)
        companion = self._companion_scores(index, query)
        if companion is not None:
            dense += w.companion * zscore(centre(companion), visible)
        return dense, cosine, sentence, sentence_cosines

    def _companion_scores(self, index: LoadedIndex, query: str) -> np.ndarray | None:
        """The companion's cosines, when this server and the build use the same companion encoder."""
        companion = self.embedder.companion
        if companion is None:
            return None
        if index.companion_id != companion.model_id:
            if self._warned_build != index.build_id:  # once per build: the answer still works without it
                self._warned_build = index.build_id
                log.warning("index build %s has companion vectors %r, this server uses %r: ranking without the "
                            "companion until `ayuda index` rebuilds it", index.build_id, index.companion_id or "none",
                            companion.model_id)
            return None
        return index.companion_scores(companion.encode_queries([query])[0])


def below_document_best(scores: np.ndarray, doc_of: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """How far each visible chunk's score is below the best visible chunk of its document (`doc_of`: each
    chunk's document number); 0 for that one and for chunks the user can't see."""
    best = np.full(int(doc_of.max()) + 1 if len(doc_of) else 0, -np.inf)
    np.maximum.at(best, doc_of[visible], scores[visible])
    return np.where(visible, best[doc_of] - scores, 0.0)


def whole_sections(hits: list[Hit], index: LoadedIndex) -> list[Hit]:
    """A hit from a section split into several chunks carries the whole section: the fact asked for may sit in
    the chunk before ("never cut a list mid-way"). The quote still centres on the hit's best sentence."""
    for hit in hits:
        position = index.position.get(hit.chunk.chunk_id)
        if position is not None and len(index.section_of(position)) > 1:
            hit.passage = index.section_text(position)
    return hits


def prefer_language(hits: list[Hit], language: str, index: LoadedIndex, cosine: np.ndarray,
                    sentence: np.ndarray, visible: np.ndarray, sentence_cosines: np.ndarray) -> list[Hit]:
    """Swap a hit from a translated document for the best-matching chunk of the user's-language version."""
    siblings: dict[str, str] = {}
    for doc_id, meta in index.documents.items():
        if meta.get("translation_key") and meta.get("language") == language:
            siblings[meta["translation_key"]] = doc_id
    out: list[Hit] = []
    seen: set[str] = set()
    for hit in hits:
        c = hit.chunk
        target = siblings.get(c.translation_key) if c.translation_key and c.language != language else None
        if target:
            options = [i for i in index.positions_of(target) if visible[i]]
            if options:
                best = max(options, key=lambda i: sentence[i])
                hit = Hit(index.chunks[best], hit.score, dense=max(float(cosine[best]), hit.dense or 0.0),
                          sentence=max(float(sentence[best]), hit.sentence or 0.0), bm25=hit.bm25,
                          dense_rank=hit.dense_rank, bm25_rank=hit.bm25_rank,
                          best_sentence=index.best_sentence(best, sentence_cosines))
        if hit.chunk.chunk_id in seen:
            continue
        seen.add(hit.chunk.chunk_id)
        out.append(hit)
    return out


_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")
_TITLE_REF = re.compile(r"(?<![*\w])\*([^*\n]{12,})\*(?![*\w])|[“\"]([^”\"\n]{12,})[”\"]")  # *Page title*, "Page title"


def pointer_scope(text: str, sentence: str) -> str:
    """Where a pointer for `sentence` may sit: the sentence itself, and in a list item also the next sentence
    (an item often names its case first and points to the page next: "São Paulo: … Amounts are in [page](…)").
    In a paragraph the next sentence is often a pointer for something else ("… See *Desk Booking* to reserve
    a desk."), so it does not count."""
    head = sentence[:40]
    for line in text.split("\n"):
        at = line.find(head)
        if at >= 0 and _LIST_ITEM.match(line):
            rest = [p for p in SENTENCE_BREAK.split(line[at:]) if p.strip()]
            return " ".join(rest[:2])
    return sentence


def pointed_docs(scope: str, index: LoadedIndex) -> set[str]:
    """Documents a passage points to: by link to their URL, or by (the start of) their title in *italics* or
    quotes."""
    found = {index.doc_by_url.get(u.split("#")[0].rstrip("/")) for u in _LINK.findall(scope)}
    for match in _TITLE_REF.finditer(scope):
        named = " ".join((match.group(1) or match.group(2)).lower().split())
        found |= {doc for doc, title in index.doc_titles.items() if title.startswith(named)}
    return {d for d in found if d}


def follow_pointers(hits: list[Hit], index: LoadedIndex, top: int = 3, window: int = 10) -> list[Hit]:
    """A passage whose sentence closest to the question points to another page for the details ("Amounts
    and rules are in [Vale-refeição …](…)") ranks below that page when the page is a candidate too: the
    English overview that merely mentions a topic defers to the page about it, in whatever language."""
    out = list(hits)
    for i in range(min(top, len(out))):
        hit = out[i]
        if hit.best_sentence is None:
            continue
        parts = sentences(hit.chunk.text)
        if hit.best_sentence >= len(parts):
            continue
        linked = pointed_docs(pointer_scope(hit.chunk.text, parts[hit.best_sentence]), index) - {hit.chunk.doc_id}
        j = next((j for j in range(i + 1, min(window, len(out))) if out[j].chunk.doc_id in linked), None)
        if j is not None:
            target = out.pop(j)
            target.score = max(target.score, hit.score)
            out.insert(i, target)
    return out

"""Hybrid retrieval: dense (FAISS) + BM25, fused with reciprocal-rank fusion, ACL-filtered, optionally reranked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.retrieval.documents import Hit
from app.retrieval.embeddings import Embedder
from app.retrieval.index import IndexNotFound, IndexStore, LoadedIndex
from app.retrieval.rerank import Reranker
from app.retrieval.text import query_tokens

MODES = ("hybrid", "dense", "bm25")


@dataclass
class SearchResult:
    hits: list[Hit]
    build_id: str
    query_vector: np.ndarray
    idf: Callable[[str], float]


class HybridSearcher:
    def __init__(self, store: IndexStore, embedder: Embedder, *, reranker: Reranker | None = None,
                 retrieve_k: int = 40, rrf_k: int = 60, bm25_weight: float = 1.0,
                 bm25_cross_weight: float = 1.0, language_debias: bool = False) -> None:
        self.store, self.embedder, self.reranker = store, embedder, reranker
        self.retrieve_k, self.rrf_k = retrieve_k, rrf_k
        # BM25's vote in the fusion; `cross` applies to chunks in another language than the question.
        self.bm25_weight, self.bm25_cross_weight = bm25_weight, bm25_cross_weight
        self.language_debias = language_debias  # rank dense scores relative to each language's mean

    def index(self) -> LoadedIndex:
        index = self.store.get()
        if index is None:
            raise IndexNotFound(self.store.last_error or "no index loaded")
        if index.model_id != self.embedder.model_id:
            raise IndexNotFound(f"index build {index.build_id} was made with {index.model_id}, but this server "
                                f"uses {self.embedder.model_id}; run `ayuda index --full`")
        return index

    def search(self, query: str, *, language: str, groups: set[str], k: int = 8,
               mode: str = "hybrid", rerank: bool = True) -> SearchResult:
        index = self.index()
        qvec = self.embedder.encode_queries([query])[0]
        visible = [c.visible_to(groups) for c in index.chunks]
        dense = bm25 = []
        if mode in ("hybrid", "dense"):
            ranked = (index.debiased_dense_search if self.language_debias else index.dense_search)(
                qvec, self._fetch(index, visible))
            dense = [r for r in ranked if visible[r[0]]]
        if mode in ("hybrid", "bm25"):
            tokens = query_tokens(query, language)
            bm25 = [r for r in index.bm25_search(tokens, self._fetch(index, visible)) if visible[r[0]]]
        dense, bm25 = dense[: self.retrieve_k], bm25[: self.retrieve_k]
        def bm25_vote(i: int) -> float:
            return self.bm25_weight if index.chunks[i].language == language else self.bm25_cross_weight

        fused = {i: Hit(index.chunks[i], score) for i, score in reciprocal_rank_fusion(
            [[i for i, _ in dense], [i for i, _ in bm25]], self.rrf_k, [lambda _: 1.0, bm25_vote]).items()}
        for rank, (i, score) in enumerate(dense):
            fused[i].dense, fused[i].dense_rank = score, rank
        for rank, (i, score) in enumerate(bm25):
            fused[i].bm25, fused[i].bm25_rank = score, rank
        for i, hit in fused.items():
            if hit.dense is None:  # every candidate gets a cosine, for the confidence gate
                hit.dense = float(index.vectors[i] @ qvec)
        hits = sorted(fused.values(), key=lambda h: (round(h.score, 6), h.dense or 0.0), reverse=True)
        hits = prefer_language(hits, language, index, qvec, visible)
        if rerank and self.reranker is not None and hits:
            hits = self.reranker.rerank(query, hits[: max(k * 3, 20)])
        return SearchResult(hits[:k], index.build_id, qvec, index.idf)

    def _fetch(self, index: LoadedIndex, visible: list[bool]) -> int:
        """Candidates to fetch so that enough remain after the ACL filter."""
        hidden = len(visible) - sum(visible)
        return min(len(index.chunks), self.retrieve_k + hidden)


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60,
                           weights: list[Callable[[int], float]] | None = None) -> dict[int, float]:
    """RRF: each list adds weight(item) / (k + rank) to the items it ranks (rank starting at 1)."""
    scores: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if weights else (lambda _: 1.0)
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight(item) / (k + rank)
    return scores


def prefer_language(hits: list[Hit], language: str, index: LoadedIndex, qvec: np.ndarray,
                    visible: list[bool]) -> list[Hit]:
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
            options = [(index.chunks[i], float(index.vectors[i] @ qvec))
                       for i in index.positions_of(target) if visible[i]]
            if options:
                best, score = max(options, key=lambda o: o[1])
                hit = Hit(best, hit.score, dense=max(score, hit.dense or 0.0), bm25=hit.bm25,
                          dense_rank=hit.dense_rank, bm25_rank=hit.bm25_rank)
        if hit.chunk.chunk_id in seen:
            continue
        seen.add(hit.chunk.chunk_id)
        out.append(hit)
    return out

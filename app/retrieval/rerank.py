"""Optional cross-encoder reranking (a sentence-transformers CrossEncoder folder)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from app.retrieval.documents import Hit


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


class CrossEncoderReranker:
    def __init__(self, path: Path) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(path), device="cpu", local_files_only=True)
        self._lock = threading.Lock()

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        with self._lock:
            scores = self.model.predict([(query, h.chunk.embed_text()) for h in hits], show_progress_bar=False)
        for hit, score in zip(hits, scores, strict=True):
            hit.rerank = float(score)
        return sorted(hits, key=lambda h: h.rerank or 0.0, reverse=True)

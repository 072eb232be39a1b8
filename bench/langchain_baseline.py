"""Ayuda's retrieval against the retriever a team would otherwise write with LangChain, on the golden questions.

The baseline: LangChain's FAISS vector store (langchain-community, its default flat L2 index) over the same chunks
of the same build, with the same e5 model behind a LangChain `Embeddings` (the build's passage vectors are handed
to `FAISS.from_embeddings`, which is what embedding `chunk.embed_text()` again would give; queries are encoded
with e5's "query: " prompt on every call), and the asking user's groups applied as LangChain's metadata `filter`
(fetch 4k, then filter). Ayuda: `HybridSearcher.search` (e5 chunk + sentence + heading, the companion encoder,
BM25, fusion, language preference), reranker off. Both asked each single-turn answerable golden question of the
split once, in alternating order, with the query-vector caches emptied before each question: the latency is the
whole retrieval including query encoding. Recall@5 as `ayuda eval` computes it (documents ranked by their best
chunk among the first 40 chunks; a translation of a gold document counts). Prints figures; asserts nothing.
Usage: python bench/langchain_baseline.py [--index-dir index] [--split dev|test|all]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.evaluation.datasets import EvalItem, load_golden
from app.evaluation.memindex import MemoryStore
from app.evaluation.metrics import recall_at_k
from app.evaluation.runner import RANK_CHUNKS, gold_groups
from app.retrieval import load_embedder
from app.retrieval.documents import EVERYONE
from app.retrieval.embeddings import Embedder
from app.retrieval.index import LoadedIndex, current_build_dir
from app.retrieval.search import HybridSearcher

warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community announces its sunset

from langchain_community.vectorstores import FAISS  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402


class E5Embeddings(Embeddings):
    """LangChain's view of the same e5 model (its query and passage prompts)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.encode_queries([text])[0].tolist()


def run_langchain(store: FAISS, item: EvalItem, groups: frozenset[str]) -> list[str]:
    def allowed(meta: dict[str, Any]) -> bool:
        return EVERYONE in meta["audience"] or bool(groups & set(meta["audience"]))

    docs = store.similarity_search(item.question, k=RANK_CHUNKS, filter=allowed, fetch_k=4 * RANK_CHUNKS)
    return list(dict.fromkeys(str(d.metadata["doc_id"]) for d in docs))


def run_ayuda(searcher: HybridSearcher, item: EvalItem, groups: frozenset[str]) -> list[str]:
    hits = searcher.search(item.question, language=item.language, groups=set(groups), k=RANK_CHUNKS).hits
    return list(dict.fromkeys(h.chunk.doc_id for h in hits))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, help="index folder whose current build is used [AYUDA_INDEX_DIR]")
    parser.add_argument("--golden", type=Path, default=Path("eval/golden"))
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    args = parser.parse_args()
    settings = Settings()
    build = current_build_dir(args.index_dir or settings.index_dir)
    if build is None:
        raise SystemExit("no index build: run `ayuda index` (or pass --index-dir)")
    index = LoadedIndex.load(build)
    embedder = load_embedder(settings.embedding_model, threads=settings.torch_threads,
                             companion=settings.companion_model)
    ayuda = HybridSearcher(MemoryStore(index), embedder)

    t0 = time.perf_counter()
    store = FAISS.from_embeddings(
        [(c.embed_text(), np.asarray(v, dtype="float32").tolist()) for c, v in zip(index.chunks, index.vectors,
                                                                                  strict=True)],
        E5Embeddings(embedder),
        metadatas=[{"doc_id": c.doc_id, "audience": list(c.audience)} for c in index.chunks])
    lc_build = time.perf_counter() - t0

    items = [it for it in load_golden(args.golden, None if args.split == "all" else args.split)
             if it.gold_docs and not it.context]
    lc_ms: list[float] = []
    ay_ms: list[float] = []
    lc_recall: list[float] = []
    ay_recall: list[float] = []
    for n, item in enumerate(items):
        groups = frozenset(g.lower() for g in item.groups)
        gold = gold_groups(item, index)
        order: list[tuple[str, Callable[[Any, EvalItem, frozenset[str]], list[str]]]] = [
            ("lc", run_langchain), ("ay", run_ayuda)]
        if n % 2:
            order.reverse()
        for name, run in order:
            embedder.forget_queries()
            t = time.perf_counter()
            ranked = run(store if name == "lc" else ayuda, item, groups)
            (lc_ms if name == "lc" else ay_ms).append((time.perf_counter() - t) * 1000)
            (lc_recall if name == "lc" else ay_recall).append(recall_at_k(ranked, gold, 5))

    print(f"build {build.name}: {len(index.chunks)} chunks; {len(items)} single-turn answerable golden questions "
          f"({args.split}); LangChain FAISS store built from the build's vectors in {lc_build:.2f} s")
    print(f"{'retriever':<34} {'recall@5':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, recall, ms in [("LangChain FAISS (e5, dense only)", lc_recall, lc_ms),
                             ("Ayuda HybridSearcher", ay_recall, ay_ms)]:
        print(f"{name:<34} {statistics.mean(recall):>8.4f} {statistics.median(ms):>8.1f} {percentile(ms, .95):>8.1f}")
    print(f"latency ratio Ayuda / LangChain: p50 {statistics.median(ay_ms) / statistics.median(lc_ms):.2f}, "
          f"p95 {percentile(ay_ms, .95) / percentile(lc_ms, .95):.2f}")


if __name__ == "__main__":
    main()

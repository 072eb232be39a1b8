"""Retrieval latency and memory at scale, on a synthetic index (random unit vectors, Zipf-distributed words).

Builds an in-memory index of N chunks shaped like the real ones (10 chunks per document, 3 sentence vectors per
chunk, a companion vector and a heading vector per chunk, three languages, a fifth of the documents visible to
one group only), then times `HybridSearcher.search` for queries whose vectors are given (query encoding is not
part of the figure: `bench/chat_latency.py` measures the whole turn). Prints p50/p95 per size and the process's
peak memory; asserts nothing.
Usage: python bench/retrieval_scale.py [--sizes 10000 100000] [--queries 50]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from app.retrieval.documents import EVERYONE, Chunk
from app.retrieval.index import LoadedIndex, search_structures
from app.retrieval.search import HybridSearcher
from app.retrieval.vectors import ChunkVectors

DIM, COMPANION_DIM, SENTENCES = 384, 512, 3
LANGUAGES = ("en", "es", "pt")


class _Companion:
    model_id = "synthetic-companion"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return unit(self.rng.standard_normal((len(texts), COMPANION_DIM)))


class _Embedder:
    """Only what the searcher asks of an embedder; the query's e5 vectors are passed in by the benchmark."""

    model_id, companion_id = "synthetic", "synthetic-companion"

    def __init__(self, rng: np.random.Generator) -> None:
        self.companion = _Companion(rng)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("the benchmark passes the query vectors")


class _Store:
    def __init__(self, index: LoadedIndex) -> None:
        self.index, self.last_error = index, None

    def get(self) -> LoadedIndex:
        return self.index


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def synthetic_index(n: int, rng: np.random.Generator) -> LoadedIndex:
    words = [f"w{i}" for i in range(20_000)]
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    drawn = rng.choice(len(words), size=(n, 60), p=zipf)
    chunks = []
    for i in range(n):
        doc = i // 10
        text = " ".join(words[w] for w in drawn[i])
        audience = ["hr"] if doc % 5 == 4 else [EVERYONE]
        chunks.append(Chunk(f"d{doc}#{i % 10}", f"d{doc}", f"Doc {doc}", f"Doc {doc} > Section {i % 10}",
                            f"s{i % 10}", text, LANGUAGES[doc % 3], "hr", audience, "", "", i % 10))
    vectors = unit(rng.standard_normal((n, DIM)))
    sentences = unit(np.repeat(vectors, SENTENCES, axis=0) + 0.5 * rng.standard_normal((n * SENTENCES, DIM)))
    owners = np.repeat(np.arange(n, dtype=np.int32), SENTENCES)
    views = ChunkVectors(vectors, sentences, owners, unit(rng.standard_normal((n, COMPANION_DIM))),
                         unit(vectors + rng.standard_normal((n, DIM))))
    dense, sparse, df = search_structures(chunks, vectors)
    manifest = {"build_id": f"synthetic-{n}", "embedding_model": {"id": "synthetic"},
                "companion_model": "synthetic-companion", "documents": {c.doc_id: {"title": c.title} for c in chunks}}
    return LoadedIndex(Path("<synthetic>"), manifest, chunks, views, dense, sparse, df)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    print(f"{'chunks':>9} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'peak MB':>8}")
    for n in args.sizes:
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        index = synthetic_index(n, rng)
        built = time.perf_counter() - t0
        searcher = HybridSearcher(_Store(index), _Embedder(rng))  # type: ignore[arg-type]
        targets = rng.integers(0, n, size=args.queries)
        times = []
        for q, target in enumerate(targets):
            vector = unit(index.vectors[target : target + 1] + 0.8 * rng.standard_normal((1, DIM)))
            query = " ".join(index.chunks[int(target)].text.split()[:6])
            groups = {"hr"} if q % 2 else set()
            t0 = time.perf_counter()
            searcher.search(query, language=LANGUAGES[q % 3], groups=groups, vectors=vector)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"{n:>9} {built:>8.1f} {statistics.median(times):>8.1f} {p95:>8.1f} {peak_mb():>8.0f}", flush=True)


if __name__ == "__main__":
    main()

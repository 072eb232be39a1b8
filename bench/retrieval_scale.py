"""Retrieval latency and memory at scale, on synthetic builds written to disk and loaded as a server loads them.

Each size runs in its own process: a child writes a build of N chunks shaped like the real ones (10 chunks per
document, documents gathered in topics as real embeddings are, 3 sentence vectors, a companion (512-d) and a
heading vector per chunk, three languages, a fifth of the documents for one group, 60 Zipf-distributed words per
chunk), with the dense index chosen by size as `ayuda index` chooses it (app/retrieval/ann.py); the measuring
process loads it with `LoadedIndex.load` and times `HybridSearcher.search` with the query's e5 vector given
(encoding is not in the figure: `bench/chat_latency.py` measures the whole turn), after a few warm-up queries.
numpy's BLAS runs on one thread, as in a server. Prints p50/p95 (wall) and the p50 of the search's CPU time
(steadier on a shared machine), the process's resident memory against the raw vectors' size, the lowest recall
of the approximate indexes recorded in the manifest and, up to
--agreement-max chunks, how often the top hit and the top 8 equal the exhaustive ranking's (every chunk scored,
every signal normalised over every visible chunk: the fusion before top-k). Asserts nothing.
Usage: python bench/retrieval_scale.py [--sizes 10000 100000 1000000] [--queries 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.cli import one_blas_thread
from app.retrieval import ann
from app.retrieval.documents import EVERYONE, Chunk
from app.retrieval.index import LoadedIndex, search_structures
from app.retrieval.profile import FORMAT_VERSION
from app.retrieval.reference import exhaustive_top
from app.retrieval.search import HybridSearcher
from app.retrieval.vectors import ChunkVectors

DIM, COMPANION_DIM, SENTENCES, PER_DOC, WORDS = 384, 512, 3, 10, 60
LANGUAGES = ("en", "es", "pt")
BLOCK = 50_000  # chunks generated at a time (a multiple of PER_DOC)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def noise(rng: np.random.Generator, rows: int, dim: int, scale: float) -> np.ndarray:
    return rng.standard_normal((rows, dim), dtype=np.float32) * np.float32(scale / np.sqrt(dim))


def write_build(n: int, folder: Path) -> None:
    """A synthetic build of n chunks in `folder` (vectors written block by block into memory-mapped files)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    docs = n // PER_DOC
    topics = max(20, docs // 20)
    centres, companion_centres = unit(rng.standard_normal((topics, DIM))), unit(rng.standard_normal((topics, COMPANION_DIM)))
    topic_of = rng.integers(0, topics, docs)
    words = [f"w{i}" for i in range(20_000)]
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    files = {name: np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype="float32", shape=shape)
             for name, shape in [("vectors", (n, DIM)), ("sentences", (n * SENTENCES, DIM)),
                                 ("companion", (n, COMPANION_DIM)), ("headings", (n, DIM))]}
    np.save(folder / "sentence_owners.npy", np.repeat(np.arange(n, dtype=np.int32), SENTENCES))
    chunks = []
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
        for start in range(0, n, BLOCK):
            size = min(BLOCK, n - start)
            doc = (start + np.arange(size)) // PER_DOC
            first_doc, last_doc = int(doc[0]), int(doc[-1]) + 1
            doc_vec = unit(centres[topic_of[first_doc:last_doc]] + noise(rng, last_doc - first_doc, DIM, 0.6))
            vec = unit(doc_vec[doc - first_doc] + noise(rng, size, DIM, 0.8))
            files["vectors"][start : start + size] = vec
            files["sentences"][start * SENTENCES : (start + size) * SENTENCES] = unit(
                np.repeat(vec, SENTENCES, axis=0) + noise(rng, size * SENTENCES, DIM, 0.7))
            files["headings"][start : start + size] = unit(vec + noise(rng, size, DIM, 0.7))
            files["companion"][start : start + size] = unit(companion_centres[topic_of[doc]]
                                                            + noise(rng, size, COMPANION_DIM, 0.9))
            drawn = rng.choice(len(words), size=(size, WORDS), p=zipf)
            for j in range(size):
                i, d = start + j, int(doc[j])
                c = Chunk(f"d{d}#{i % PER_DOC}", f"d{d}", f"Doc {d}", f"Doc {d} > Section {i % PER_DOC}",
                          f"s{i % PER_DOC}", " ".join(words[w] for w in drawn[j]), LANGUAGES[d % 3], "hr",
                          ["hr"] if d % 5 == 4 else [EVERYONE], "", "", i % PER_DOC)
                chunks.append(c)
                f.write(json.dumps(c.__dict__) + "\n")
    for matrix in files.values():
        matrix.flush()
    del files
    started = time.perf_counter()
    views = ChunkVectors.load(folder, mmap=True)
    dense, sparse, df = search_structures(chunks, views)
    dense.save(folder / "ann")
    sparse.save(str(folder / "bm25"), show_progress=False)
    (folder / "df.json").write_text(json.dumps({"chunks": n, "df": df}))
    manifest = {"format": FORMAT_VERSION, "build_id": f"synthetic-{n}", "embedding_model": {"id": "synthetic"},
                "companion_model": "synthetic-companion", "dense_index": dense.describe(),
                "structures_seconds": round(time.perf_counter() - started, 1),
                "documents": {f"d{d}": {"title": f"Doc {d}"} for d in range(docs)}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def retune(folder: Path) -> None:
    """Measure again the recall and nprobe of a build's IVF indexes (after a change to how they are searched),
    without building them again."""
    from app.retrieval.ann import _tune

    manifest = json.loads((folder / "manifest.json").read_text())
    index = LoadedIndex.load(folder)
    rng = np.random.default_rng(0)
    for name, vector_set in index.dense.sets().items():
        for group, part in (vector_set.parts or {}).items():
            effort, recall = _tune(part.index, vector_set.matrix, part.ids, rng)
            key = "nprobe" if vector_set.describe()["kind"] == "ivf" else "ef_search"
            manifest["dense_index"]["sets"][name]["partitions"][vector_set.groups[group]].update(
                {key: effort, "recall": round(recall, 4)})
    (folder / "manifest.json").write_text(json.dumps(manifest))


class _Companion:
    model_id = "synthetic-companion"

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


class _Embedder:
    """Only what the searcher asks of an embedder; the query's e5 vectors are passed in by the benchmark."""

    model_id, companion_id = "synthetic", "synthetic-companion"

    def __init__(self) -> None:
        self.companion = _Companion()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("the benchmark passes the query vectors")


class _Store:
    def __init__(self, index: LoadedIndex) -> None:
        self.index, self.last_error = index, None

    def get(self) -> LoadedIndex:
        return self.index


def memory() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def measure(n: int, queries: int, agreement_max: int, keep: Path | None, kind: str = "hnsw") -> dict[str, object]:
    folder = (keep or Path(tempfile.mkdtemp(prefix="ayuda-scale-"))) / f"build-{n}-{kind}"
    written = 0.0
    one_blas_thread()  # as `ayuda serve` runs it (app/cli.py)
    if not (folder / "manifest.json").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--write", str(n), str(folder), "--approximate", kind], check=True)
        written = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        index = LoadedIndex.load(folder)
        loaded = time.perf_counter() - t0
        embedder = _Embedder()
        searcher = HybridSearcher(_Store(index), embedder)  # type: ignore[arg-type]
        rng = np.random.default_rng(1)
        assert index.views.companion is not None
        times, cpu, same_first, same_top = [], [], 0, 0
        asked: list[tuple[np.ndarray, str, str, set[str], list[str]]] = []
        compare = n <= agreement_max
        for q in range(queries + 6):
            target = int(rng.integers(0, n))
            vector = unit(np.asarray(index.vectors[[target]]) + noise(rng, 1, DIM, 1.0))
            text = " ".join(index.chunks[target].text.split()[:6]) + f" q{q}"
            embedder.companion.vectors[text] = unit(np.asarray(index.views.companion[[target]])
                                                    + noise(rng, 1, COMPANION_DIM, 1.0))[0]
            groups = {"hr"} if q % 2 else set()
            language = LANGUAGES[q % 3]
            t0, c0 = time.perf_counter(), time.process_time()
            hits = searcher.search(text, language=language, groups=groups, vectors=vector, rerank=False).hits
            if q < 6:  # warm-up: each group set's masks and selectors are built once
                continue
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            asked.append((vector[0], text, language, groups, [h.chunk.chunk_id for h in hits]))
        used = memory()  # before the exhaustive ranking below reads every vector
        for vector0, text, language, groups, mine in asked if compare else []:
            full = exhaustive_top(index, vector0, embedder.companion.vectors[text], text, language, groups, 8)
            same_first += mine[0] == full[0]
            same_top += mine == full
        times.sort()
        sets = index.manifest["dense_index"]["sets"]
        recalls = [p["recall"] for s in sets.values() for p in s.get("partitions", {}).values()]
        raw = sum(np.asarray(m).nbytes for m in (index.views.chunks, index.views.sentences, index.views.headings,
                                                 index.views.companion) if m is not None) / 2**20
        return {"chunks": n, "write_s": round(written, 1), "load_s": round(loaded, 1),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
                "cpu_p50_ms": round(statistics.median(cpu), 1),
                "raw_vectors_mb": round(raw), **{k: round(v) for k, v in used.items()},
                "kinds": {name: s["kind"] for name, s in sets.items()},
                "min_recall": min(recalls) if recalls else None,
                "same_first": f"{same_first}/{len(times)}" if compare else None,
                "same_top8": f"{same_top}/{len(times)}" if compare else None}
    finally:
        if keep is None:
            shutil.rmtree(folder.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--agreement-max", type=int, default=100_000,
                        help="compare with the exhaustive ranking up to this many chunks")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the builds here instead of a temporary folder")
    parser.add_argument("--write", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--retune", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--approximate", choices=["hnsw", "ivf"], default="hnsw",
                        help="the index above 50,000 rows: HNSW (what `ayuda index` builds) or IVF (builds before)")
    args = parser.parse_args()
    ann.APPROXIMATE = args.approximate
    if args.write:
        write_build(int(args.write[0]), Path(args.write[1]))
        return
    if args.retune:
        retune(args.retune)
        return
    if args.one:
        print(json.dumps(measure(args.one, args.queries, args.agreement_max, args.keep, args.approximate)))
        return
    print(f"{'chunks':>9} {'p50 ms':>7} {'p95 ms':>7} {'CPU p50':>7} {'RSS MB':>7} {'anon':>7} {'file':>6} {'raw MB':>7} "
          f"{'RSS/raw':>7} {'recall':>6} {'top1=':>7} {'top8=':>7}  indexes")
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--queries", str(args.queries),
                   "--agreement-max", str(args.agreement_max), "--approximate", args.approximate] + (
                       ["--keep", str(args.keep)] if args.keep else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{n:>9} {r['p50_ms']:>7} {r['p95_ms']:>7} {r['cpu_p50_ms']:>7} {r['VmRSS']:>7} {r['RssAnon']:>7} {r['RssFile']:>6} "
              f"{r['raw_vectors_mb']:>7} {r['VmRSS'] / r['raw_vectors_mb']:>7.2f} {r['min_recall'] or '-':>6} "
              f"{r['same_first'] or '-':>7} {r['same_top8'] or '-':>7}  {r['kinds']} (write {r['write_s']} s, "
              f"load {r['load_s']} s)", flush=True)


if __name__ == "__main__":
    main()

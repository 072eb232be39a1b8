"""Top-k search over one set of vectors (chunks, sentences, headings, companion), with the caller's row filter
applied inside the search, so that a row the caller may not see never appears and never takes a place of the k.

The index is chosen by size and recorded in the manifest (`DenseIndex.describe`):
- below `EXACT_BELOW` rows: exact, one matrix product over the rows held in memory (no FAISS copy of them);
- above: a FAISS HNSW graph over 8-bit scalar-quantised codes (codes a quarter of the vectors' size, plus the
  graph's links), one index per language partition (each language's scores are centred by their own mean before
  fusion, so each language's top k is searched separately), with `efSearch` chosen at build time as the smallest
  giving recall@k >= `TARGET_RECALL` against exact search on sample queries; the measured recall is recorded.
  (Builds from before made IVF indexes, tuned by `nprobe`; they still load and search. HNSW took a fifth of IVF's
  time per search at 100k chunks, at higher recall: bench/README.md.) The index only proposes candidates:
  their scores are computed exactly from the build's .npy files, memory-mapped (only the candidates' rows are
  read), so the full-precision vectors are not held in memory at all.

A question searches several sets; `search_all` runs the partitions of all of them side by side on a small shared
pool of threads (at 1M chunks: 12 searches, 74 ms one after another, 40 ms on 2 threads).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from app.retrieval.hugepages import huge_pages

log = logging.getLogger(__name__)

APPROXIMATE = "hnsw"  # the index above EXACT_BELOW: "hnsw", or "ivf" as builds before made it (bench/retrieval_scale.py)
EXACT_BELOW = 50_000  # rows of one vector set; exact search below (≈ 2 ms per 10k rows of 384 floats)
TARGET_RECALL = 0.95  # recall@RECALL_K of an approximate index against exact, on sample queries, at the effort chosen
RECALL_K = 40
RECALL_QUERIES = 200
# The effort is tuned to TARGET_RECALL + TUNE_MARGIN on the build's sample queries, since fresh ones vary. At 1M
# chunks, 1,000 fresh queries per partition got recall .9625-.9857 at the efforts tuned to .97, while tuning to .98
# (0.03) cost 1.2-1.7x the CPU a search: recall rises slowly with efSearch there (headings .955 at 800, .978 at 1,900).
TUNE_MARGIN = 0.02
FETCH = 2  # an IVF search fetches FETCH × k by its 8-bit codes, then keeps the k best by the exact scores
ADD_BLOCK = 65_536  # rows added to an IVF index at a time (a memory-mapped set is never copied whole)


SAMPLE_STEP = 32  # `best` over a large array first keeps what beats a threshold read off every 32nd score
SAMPLED_ABOVE = 100_000  # ... for arrays of at least this many scores (BM25 over every chunk of a large build)


def best(scores: np.ndarray, candidates: np.ndarray, m: int) -> list[int]:
    """The `m` best-scoring candidates (a boolean mask), best first (ties by position)."""
    at = _above_sampled_threshold(scores, candidates, m) if len(scores) >= SAMPLED_ABOVE else None
    if at is None:
        at = np.flatnonzero(candidates)
    if len(at) > m:  # everything as good as the m-th best, so that ties keep the lower positions
        at = at[scores[at] >= -np.partition(-scores[at], m - 1)[m - 1]]
    return [int(i) for i in at[np.lexsort((at, -scores[at]))][:m]]


def _above_sampled_threshold(scores: np.ndarray, candidates: np.ndarray, m: int) -> np.ndarray | None:
    """The candidates scoring at least t, where t is about the (m + 8 × SAMPLE_STEP)-th best score, read off a
    sample of every SAMPLE_STEP-th position; they include the m best (so `best` gives what it gives without this)
    whenever they are at least m, else None (`best` looks at every candidate). At 1M scores: 0.4 ms against 8 ms
    for partitioning them all."""
    sample = scores[::SAMPLE_STEP][candidates[::SAMPLE_STEP]]
    j = m // SAMPLE_STEP + 8  # for scores in random order, the sample's j-th best beats the m-th best overall about
    # twice in 10,000 questions (m = 80); then there are fewer than m above it and every candidate is looked at
    if len(sample) <= j:
        return None
    threshold = np.partition(sample, len(sample) - j)[len(sample) - j]
    at = np.flatnonzero(scores >= threshold)
    at = at[candidates[at]]
    return at if len(at) >= m else None


@dataclass
class Part:
    """One language's rows of a set in an approximate index (HNSW, or IVF in older builds): local row r is global
    row ids[r]; `effort` is the tuned efSearch (HNSW) or nprobe (IVF)."""

    index: faiss.Index
    ids: np.ndarray  # (rows,) int64 global row numbers
    effort: int
    info: dict[str, Any]

    def params(self, selector: faiss.IDSelector | None = None) -> faiss.SearchParameters:
        return search_params(self.index, self.effort, selector)


def search_params(index: faiss.Index, effort: int, selector: faiss.IDSelector | None = None
                  ) -> faiss.SearchParameters:
    """Search parameters for an HNSW (efSearch) or IVF (nprobe) index, with an optional row filter."""
    if isinstance(index, faiss.IndexIVF):
        params: Any = faiss.SearchParametersIVF()
        params.nprobe = effort
    else:
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss's stubs
        params.efSearch = effort
    if selector is not None:
        params.sel = selector
    return params


@dataclass
class Allowed:
    """The rows a caller may see in one set: a mask, and per IVF part the FAISS selector built from it once."""

    mask: np.ndarray
    _selectors: dict[int, tuple[faiss.IDSelector, np.ndarray]] = field(default_factory=dict)

    def selector(self, group: int, part: Part) -> faiss.IDSelector:
        if group not in self._selectors:  # setdefault: two threads making it at once both use the one kept
            bits = np.packbits(self.mask[part.ids], bitorder="little")
            self._selectors.setdefault(group, (faiss.IDSelectorBitmap(len(part.ids), faiss.swig_ptr(bits)), bits))
        return self._selectors[group][0]  # the bitmap stays referenced beside its selector


class VectorSet:
    """The rows of one kind of vector and how to find the best k of them."""

    def __init__(self, name: str, matrix: np.ndarray, group_of: np.ndarray, parts: dict[int, Part] | None = None,
                 groups: Sequence[str] = ()) -> None:
        self.name, self.matrix, self.group_of, self.parts = name, matrix, group_of, parts
        self.groups = list(groups)  # partition names (languages), by group number

    def __len__(self) -> int:
        return len(self.matrix)

    @property
    def exact(self) -> bool:
        return self.parts is None

    def rows(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[ids], dtype="float32")

    def search(self, query: np.ndarray, k: int, allowed: Allowed, shift: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The (at most) k allowed rows with the best `query · row - shift[group of the row]`, best first: their
        global numbers and those scores."""
        return search_all([Request(self, query, k, allowed, shift)])[0]

    def _exact(self, q: np.ndarray, k: int, allowed: Allowed, shift: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        scores = self.matrix @ q
        if shift is not None:
            scores = scores - shift[self.group_of].astype("float32")
        top = np.array(best(scores, allowed.mask, k), dtype=np.int64)
        return top, scores[top]

    def _part(self, group: int, q: np.ndarray, k: int, allowed: Allowed, shift: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray]:
        """One partition's best k, as global rows and shifted exact scores."""
        assert self.parts is not None
        part = self.parts[group]
        local, exact = rescored(part.index, self.matrix, part.ids, q[None, :], k,
                                part.params(allowed.selector(group, part)))
        keep = local[0] >= 0
        return part.ids[local[0][keep]], exact[0][keep] - (float(shift[group]) if shift is not None else 0.0)

    def cost(self, group: int, k: int) -> float:
        """About how long a search of one partition takes, to order them: HNSW visits about efSearch nodes (or the
        number fetched, if more), IVF the rows of its nprobe lists."""
        assert self.parts is not None
        part = self.parts[group]
        if isinstance(part.index, faiss.IndexIVF):
            return part.effort * len(part.ids) / max(1, part.index.nlist)
        return max(part.effort, FETCH * k)

    def describe(self) -> dict[str, Any]:
        if self.parts is None:
            return {"kind": "flat", "rows": len(self)}
        kind = "ivf" if any(isinstance(p.index, faiss.IndexIVF) for p in self.parts.values()) else "hnsw"
        return {"kind": kind, "codes": "sq8", "rows": len(self), "metric": "inner_product",
                "partitions": {self.groups[g]: p.info for g, p in self.parts.items()}}

    def save(self, folder: Path) -> None:
        """The IVF parts (an exact set is its .npy file, written with the build's vectors)."""
        for group, part in (self.parts or {}).items():
            faiss.write_index(part.index, str(folder / f"{self.name}.{self.groups[group]}.faiss"))
            np.save(folder / f"{self.name}.{self.groups[group]}.ids.npy", part.ids)

    @classmethod
    def load(cls, folder: Path, name: str, matrix: np.ndarray, group_of: np.ndarray, groups: Sequence[str],
             described: dict[str, Any]) -> VectorSet:
        if described.get("kind", "flat") == "flat":
            return cls(name, matrix, group_of, None, groups)
        kind = described.get("kind")
        if kind not in ("hnsw", "ivf"):
            raise ValueError(f"unknown dense index kind {kind!r} for {name}")
        parts = {}
        for g, language in enumerate(groups):
            info = described["partitions"].get(language)
            if info is None:
                continue
            index = faiss.read_index(str(folder / f"{name}.{language}.faiss"))
            huge_pages(index)  # fewer TLB misses as a search follows the graph (app/retrieval/hugepages.py)
            effort = int(info["ef_search"] if kind == "hnsw" else info["nprobe"])
            parts[g] = Part(index, np.load(folder / f"{name}.{language}.ids.npy"), effort, info)
        return cls(name, matrix, group_of, parts, groups)


@dataclass
class Request:
    """One search of `search_all`: the best k allowed rows of `vectors` for `query`, scores shifted per group."""

    vectors: VectorSet
    query: np.ndarray
    k: int
    allowed: Allowed
    shift: np.ndarray | None = None


# The partitions of approximate sets are searched on this many threads at once (FAISS releases the GIL): at 1M
# chunks the 12 searches of a question (4 sets x 3 languages) took 74 ms one after another, 40 ms on 2 threads.
# The pool is shared by every request, so searches never use more threads than this process's share of the cores
# (OMP_NUM_THREADS, which `ayuda serve --workers N` sets to cores / N) whatever the load.
SEARCH_THREADS = max(1, min(4, int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _searches() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="ann")
        return _pool


def search_all(requests: Sequence[Request]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each request's best k rows and scores, best first (`VectorSet.search`). Exact sets are one matrix product
    each, here; the partitions of approximate sets, of every request together, run on the shared search threads."""
    queries = [r.query.astype("float32") for r in requests]
    tasks = [(i, g) for i, r in enumerate(requests) if r.vectors.parts is not None for g in r.vectors.parts]
    # the longest first, so that the threads end together rather than one waiting for a long search started last
    tasks.sort(key=lambda t: -requests[t[0]].vectors.cost(t[1], requests[t[0]].k))
    if len(tasks) > 1 and SEARCH_THREADS > 1:
        done = list(_searches().map(lambda t: requests[t[0]].vectors._part(
            t[1], queries[t[0]], requests[t[0]].k, requests[t[0]].allowed, requests[t[0]].shift), tasks))
    else:
        done = [requests[i].vectors._part(g, queries[i], requests[i].k, requests[i].allowed, requests[i].shift)
                for i, g in tasks]
    out = []
    for i, r in enumerate(requests):
        if r.vectors.parts is None:
            out.append(r.vectors._exact(queries[i], r.k, r.allowed, r.shift))
            continue
        found = [d for (j, _), d in zip(tasks, done, strict=True) if j == i]
        ids = np.concatenate([f[0] for f in found])
        scores = np.concatenate([f[1] for f in found]).astype("float32")
        order = np.lexsort((ids, -scores))[: r.k]
        out.append((ids[order], scores[order]))
    return out


def build_set(name: str, matrix: np.ndarray, group_of: np.ndarray, groups: Sequence[str],
              exact_below: int = EXACT_BELOW, seed: int = 0) -> VectorSet:
    """The set's search structure: exact below `exact_below` rows, else HNSW per partition."""
    if len(matrix) < exact_below:
        return VectorSet(name, matrix, group_of, None, groups)
    rng = np.random.default_rng(seed)
    parts: dict[int, Part] = {}
    for g in range(len(groups)):
        ids = np.flatnonzero(group_of == g).astype(np.int64)
        if len(ids):
            parts[g] = _ivf(matrix, ids, rng) if APPROXIMATE == "ivf" else _hnsw(matrix, ids, rng)
    log.info("%s: %s over %d rows (%s)", name, APPROXIMATE.upper(), len(matrix),
             ", ".join(f"{groups[g]}: effort {p.effort}, recall {p.info['recall']}" for g, p in parts.items()))
    return VectorSet(name, matrix, group_of, parts, groups)


HNSW_M = 32  # graph neighbours per node (64 on the bottom layer): 256 bytes of links per row
HNSW_EF_CONSTRUCTION = 80
HNSW_TRAIN = 20_000  # rows sampled to fix the 8-bit codes' ranges


def _filled(index: faiss.Index, matrix: np.ndarray, ids: np.ndarray, rng: np.random.Generator, train_rows: int,
            info: dict[str, Any], effort_key: str) -> Part:
    """Train `index` on a sample of the partition's rows, add them all (block by block) and tune its effort."""
    train = np.sort(rng.choice(len(ids), size=min(len(ids), train_rows), replace=False))
    index.train(np.ascontiguousarray(matrix[ids[train]], dtype="float32"))
    for start in range(0, len(ids), ADD_BLOCK):
        index.add(np.ascontiguousarray(matrix[ids[start : start + ADD_BLOCK]], dtype="float32"))
    effort, recall = _tune(index, matrix, ids, rng)
    return Part(index, ids, effort, {"rows": len(ids), **info, effort_key: effort, "recall": round(recall, 4),
                                     "recall_k": RECALL_K, "recall_queries": RECALL_QUERIES})


def _hnsw(matrix: np.ndarray, ids: np.ndarray, rng: np.random.Generator) -> Part:
    d = matrix.shape[1]
    index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]  # the stubs want a ScalarQuantizer; the constant is its type
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return _filled(index, matrix, ids, rng, HNSW_TRAIN, {"m": HNSW_M}, "ef_search")


def _ivf(matrix: np.ndarray, ids: np.ndarray, rng: np.random.Generator) -> Part:
    """IVF with 8-bit codes, as builds before HNSW made them (kept to measure one against the other)."""
    d = matrix.shape[1]
    nlist = int(min(4096, max(1, round(math.sqrt(len(ids))))))
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT, False)  # codes of the rows, not residuals
    index.cp.niter = 10
    index.cp.min_points_per_centroid = 1  # no warning for a small training sample (30 per list is plenty here)
    return _filled(index, matrix, ids, rng, 30 * nlist, {"nlist": nlist}, "nprobe")


def rescored(index: faiss.Index, matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int,
             params: faiss.SearchParameters | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the local rows of the best k by exact score among the FETCH × k best by the index's codes (-1
    where fewer are found), and their exact scores."""
    _, local = index.search(queries, FETCH * k, params=params)
    rows = np.asarray(matrix[ids[np.maximum(local, 0)].ravel()], dtype="float32").reshape(*local.shape, -1)
    scores = np.where(local >= 0, np.einsum("qkd,qd->qk", rows, queries), -np.inf).astype("float32")
    keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.where(np.isfinite(np.take_along_axis(scores, keep, 1)), np.take_along_axis(local, keep, 1), -1), \
        np.take_along_axis(scores, keep, 1)


def _tune(index: faiss.Index, matrix: np.ndarray, ids: np.ndarray, rng: np.random.Generator
          ) -> tuple[int, float]:
    """The smallest effort (IVF: nprobe from 1; HNSW: efSearch from the number fetched; steps of about 1.5×, then
    the last step halved down to a sixteenth) whose recall@k against exact search (fetching as a search does)
    reaches TARGET_RECALL + TUNE_MARGIN, and that recall. A quarter of the queries are midpoints of random pairs of
    the partition's rows (between topics), the rest rows moved as far from themselves as a question is from its
    passage (cosine about .7)."""
    n, d = len(ids), matrix.shape[1]
    k = min(RECALL_K, n)
    between = RECALL_QUERIES // 4
    pairs = rng.integers(0, n, size=(between, 2))
    queries = np.vstack([np.asarray(matrix[ids[pairs[:, 0]]], dtype="float32")
                         + np.asarray(matrix[ids[pairs[:, 1]]], dtype="float32"),
                         np.asarray(matrix[ids[rng.integers(0, n, size=RECALL_QUERIES - between)]], dtype="float32")
                         + rng.standard_normal((RECALL_QUERIES - between, d)).astype("float32") / np.sqrt(d)])
    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-9)
    exact = exact_top(matrix, ids, queries, k)
    ivf = isinstance(index, faiss.IndexIVF)
    effort, most = (1, cast(faiss.IndexIVF, index).nlist) if ivf else (FETCH * k, max(FETCH * k, min(n, 4096)))

    def recall_of(effort: int) -> float:
        found, _ = rescored(index, matrix, ids, queries, k, search_params(index, effort))
        return recall_at(found, exact)

    below = effort - 1  # the largest effort known to fall short
    while (recall := recall_of(effort)) < TARGET_RECALL + TUNE_MARGIN and effort < most:
        below, effort = effort, min(most, max(effort + 1, round(effort * 1.5)))
    while effort - below > max(1, effort // 16):  # between the last two steps: the smallest effort that passes
        middle = (below + effort) // 2
        if (at := recall_of(middle)) >= TARGET_RECALL + TUNE_MARGIN:
            effort, recall = middle, at
        else:
            below = middle
    return effort, recall


def exact_top(matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Local row numbers of the exact top k per query, in no order (rows read in blocks)."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype="float32")
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(ids), ADD_BLOCK):
        block = np.asarray(matrix[ids[start : start + ADD_BLOCK]], dtype="float32")
        scores = np.hstack([best_scores, queries @ block.T])
        rows = np.hstack([best_rows, np.broadcast_to(np.arange(start, start + len(block)), (len(queries), len(block)))])
        keep = np.argpartition(-scores, k - 1, axis=1)[:, :k] if scores.shape[1] > k else np.argsort(-scores, axis=1)
        best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(rows, keep, 1)
    return best_rows


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0].tolist()) & set(e.tolist())) for f, e in zip(found, exact, strict=True))
    return hits / max(1, exact.size)


@dataclass
class DenseIndex:
    """The search structures of a build's four vector sets (headings and companion are optional)."""

    chunks: VectorSet
    sentences: VectorSet
    headings: VectorSet | None = None
    companion: VectorSet | None = None
    exact_below: int = EXACT_BELOW

    def sets(self) -> dict[str, VectorSet]:
        found = {"chunks": self.chunks, "sentences": self.sentences, "headings": self.headings,
                 "companion": self.companion}
        return {name: s for name, s in found.items() if s is not None}

    @property
    def approximate(self) -> bool:
        return any(not s.exact for s in self.sets().values())

    def describe(self) -> dict[str, Any]:
        """What the manifest records (`dense_index`)."""
        return {"exact_below": self.exact_below, "target_recall": TARGET_RECALL,
                "sets": {name: s.describe() for name, s in self.sets().items()}}

    def save(self, folder: Path) -> None:
        if self.approximate:
            folder.mkdir(exist_ok=True)
            for s in self.sets().values():
                s.save(folder)

    @classmethod
    def build(cls, matrices: dict[str, np.ndarray | None], group_of: np.ndarray, owners: np.ndarray,
              groups: Sequence[str], exact_below: int = EXACT_BELOW) -> DenseIndex:
        """`matrices`: chunks, sentences, headings, companion (rows); `group_of`: each chunk's language number;
        `owners`: each sentence row's chunk."""
        def one(name: str) -> VectorSet | None:
            matrix = matrices.get(name)
            if matrix is None:
                return None
            rows_group = group_of[owners] if name == "sentences" else group_of
            return build_set(name, matrix, rows_group, groups, exact_below)

        chunks, sentences = one("chunks"), one("sentences")
        assert chunks is not None and sentences is not None
        return cls(chunks, sentences, one("headings"), one("companion"), exact_below)

    @classmethod
    def load(cls, folder: Path, matrices: dict[str, np.ndarray | None], group_of: np.ndarray, owners: np.ndarray,
             groups: Sequence[str], described: dict[str, Any] | None) -> DenseIndex:
        """A build's structures as its manifest describes them; `described` None (a build from before format 3):
        every set exact."""
        sets = (described or {}).get("sets", {})

        def one(name: str) -> VectorSet | None:
            matrix = matrices.get(name)
            if matrix is None:
                return None
            rows_group = group_of[owners] if name == "sentences" else group_of
            return VectorSet.load(folder, name, matrix, rows_group, groups, sets.get(name, {"kind": "flat"}))

        chunks, sentences = one("chunks"), one("sentences")
        assert chunks is not None and sentences is not None
        return cls(chunks, sentences, one("headings"), one("companion"),
                   int((described or {}).get("exact_below", EXACT_BELOW)))

"""The vectorised parts of a search give what the plain loops gave: the same visible chunks, the same top
candidates in the same order (ties by position), the same ranks. Top-k search (app/retrieval/ann.py, search.py)
gives the exhaustive ranking's top hits, applies visibility inside the index, and its IVF meets its recall."""

from pathlib import Path

import numpy as np
import pytest

from app.retrieval.documents import EVERYONE, Chunk
from app.retrieval.index import LoadedIndex, search_structures
from app.retrieval.reference import exhaustive_top
from app.retrieval.search import best, ranks
from app.retrieval.vectors import ChunkVectors


def test_best_is_the_stable_sort_of_the_candidates_cut_at_m():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        scores = rng.integers(0, 6, size=n).astype("float32")  # many ties
        candidates = rng.random(n) < 0.7
        m = int(rng.integers(1, 12))
        plain = [int(i) for i in np.argsort(-scores, kind="stable") if candidates[i]][:m]
        assert best(scores, candidates, m) == plain


def test_ranks_of_some_positions_match_the_rank_of_every_position():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(1, 50))
        scores = rng.integers(0, 5, size=n).astype("float32")
        mask = rng.random(n) < 0.6
        order = [int(i) for i in np.argsort(-scores, kind="stable") if mask[i]]
        plain = {i: r for r, i in enumerate(order)}
        positions = [int(i) for i in rng.choice(n, size=min(n, 8), replace=False)]
        assert ranks(scores, mask, positions) == {i: plain[i] for i in positions if i in plain}


def _chunk(i: int, audience: list[str]) -> Chunk:
    return Chunk(f"d{i}#0", f"d{i}", f"Doc {i}", f"Doc {i}", "", f"text {i}", "en", "hr", audience, "", "", 0)


def test_the_visible_mask_follows_each_chunks_audience_and_is_reused():
    audiences = [[EVERYONE], ["hr"], ["it", "hr"], ["managers"], [EVERYONE, "hr"], ["it"]]
    chunks = [_chunk(i, a) for i, a in enumerate(audiences)]
    vectors = np.eye(len(chunks), 8, dtype="float32")
    views = ChunkVectors(vectors, np.zeros((0, 8), "float32"), np.zeros(0, np.int32))
    dense, sparse, df = search_structures(chunks, views)
    manifest = {"build_id": "b", "embedding_model": {"id": "m"}, "documents": {}}
    index = LoadedIndex(Path("."), manifest, chunks, views, dense, sparse, df)
    for groups in [set(), {"hr"}, {"it"}, {"managers", "it"}, {"nobody"}]:
        assert index.visible_mask(groups).tolist() == [c.visible_to(groups) for c in chunks]
    assert index.visible_mask({"hr"}) is index.visible_mask({"hr"})
    assert not index.visible_mask({"hr"}).flags.writeable


# Top-k retrieval against the exhaustive ranking, on synthetic indexes shaped like real ones: topics (documents
# whose chunk vectors gather around a centre), 3 sentence rows, a heading and a companion vector per chunk, three
# languages, a fifth of the documents for one group.

LANGUAGES = ("en", "es", "pt")
WORDS = [f"w{i}" for i in range(400)]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def synthetic(n: int, seed: int = 0, dim: int = 32, exact_below: int = 50_000) -> LoadedIndex:
    rng = np.random.default_rng(seed)
    docs = n // 8
    centres = unit(rng.standard_normal((max(1, docs // 4), dim)))
    doc_vec = unit(centres[rng.integers(0, len(centres), docs)] + 0.6 * rng.standard_normal((docs, dim)) / np.sqrt(dim))
    of_doc = np.arange(n) // 8 % docs
    vectors = unit(doc_vec[of_doc] + 0.8 * rng.standard_normal((n, dim)) / np.sqrt(dim))
    sents = unit(np.repeat(vectors, 3, axis=0) + 0.7 * rng.standard_normal((3 * n, dim)) / np.sqrt(dim))
    heads = unit(vectors + 0.7 * rng.standard_normal((n, dim)) / np.sqrt(dim))
    companion = unit(vectors[:, ::-1] + 0.5 * rng.standard_normal((n, dim)) / np.sqrt(dim))
    zipf = 1.0 / np.arange(1, len(WORDS) + 1)
    drawn = rng.choice(len(WORDS), size=(n, 12), p=zipf / zipf.sum())
    chunks = []
    for i in range(n):
        d = int(of_doc[i])
        section = f"Doc {d} > Part {i % 8}" if i % 8 else f"Doc {d}"  # the first chunk of a document: its title
        chunks.append(Chunk(f"d{d}#{i}", f"d{d}", f"Doc {d}", section, "", " ".join(WORDS[w] for w in drawn[i]),
                            LANGUAGES[d % 3], "hr", ["hr"] if d % 5 == 4 else [EVERYONE], "", "", i % 8))
    views = ChunkVectors(vectors, sents, np.repeat(np.arange(n, dtype=np.int32), 3), companion, heads)
    dense, sparse, df = search_structures(chunks, views, exact_below=exact_below)
    manifest = {"build_id": f"synthetic-{n}", "embedding_model": {"id": "synthetic"}, "format": 3,
                "companion_model": "synthetic-companion", "dense_index": dense.describe(),
                "documents": {c.doc_id: {"title": c.title} for c in chunks}}
    return LoadedIndex(Path("<synthetic>"), manifest, chunks, views, dense, sparse, df)


class _Companion:
    model_id = "synthetic-companion"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


class _Embedder:
    model_id = "synthetic"

    def __init__(self) -> None:
        self.queries: dict[str, np.ndarray] = {}
        self.companion = _Companion({})

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.queries[t] for t in texts])


class _Store:
    def __init__(self, index: LoadedIndex) -> None:
        self.index, self.last_error = index, None

    def get(self) -> LoadedIndex:
        return self.index


def _questions(index: LoadedIndex, embedder: _Embedder, count: int, seed: int = 5) -> list[tuple[str, str]]:
    """Questions near random chunks: their words, a vector near the chunk's, a companion vector near its own."""
    rng = np.random.default_rng(seed)
    dim = index.vectors.shape[1]
    out = []
    for target in rng.integers(0, len(index.chunks), count):
        chunk = index.chunks[int(target)]
        text = " ".join(chunk.text.split()[:4]) + f" q{target}"
        embedder.queries[text] = unit(index.vectors[[target]] + 1.0 * rng.standard_normal((1, dim)) / np.sqrt(dim))[0]
        assert index.views.companion is not None
        embedder.companion.vectors[text] = unit(
            index.views.companion[[target]] + rng.standard_normal((1, dim)) / np.sqrt(dim))[0]
        out.append((text, chunk.language))
    return out


def _top(searcher, text, language, groups, mode="hybrid", follow_up=None):  # type: ignore[no-untyped-def]
    hits = searcher.search(text, language=language, groups=groups, k=8, mode=mode, rerank=False,
                           follow_up=follow_up).hits
    return [(h.chunk.chunk_id, round(h.score, 4), h.best_sentence) for h in hits]


def test_top_k_search_returns_the_exhaustive_rankings_top_hits():
    from app.retrieval.search import HybridSearcher

    index = synthetic(3000)  # below the reference size: the normalisation is the exhaustive one
    embedder = _Embedder()
    exhaustive = HybridSearcher(_Store(index), embedder, exhaustive_below=10**9)  # type: ignore[arg-type]
    top_k = HybridSearcher(_Store(index), embedder, exhaustive_below=0)  # type: ignore[arg-type]
    questions = _questions(index, embedder, 60)
    for n, (text, language) in enumerate(questions):
        groups = [set(), {"hr"}][n % 2]
        for mode in ("hybrid", "dense", "bm25"):
            assert _top(top_k, text, language, groups, mode) == _top(exhaustive, text, language, groups, mode)
        before = questions[n - 1][0]
        assert _top(top_k, text, language, groups, follow_up=before) == \
            _top(exhaustive, text, language, groups, follow_up=before)


def test_the_exhaustive_reference_ranks_as_the_exhaustive_search_does():
    from app.retrieval.search import HybridSearcher

    index = synthetic(3000)
    embedder = _Embedder()
    exhaustive = HybridSearcher(_Store(index), embedder, exhaustive_below=10**9)  # type: ignore[arg-type]
    for n, (text, language) in enumerate(_questions(index, embedder, 30)):
        groups = [set(), {"hr"}][n % 2]
        top = exhaustive_top(index, embedder.queries[text], embedder.companion.vectors[text], text, language, groups, 8)
        assert top == [chunk_id for chunk_id, _, _ in _top(exhaustive, text, language, groups)]


def test_a_large_build_normalises_on_its_reference_sample_and_keeps_the_top_hits():
    from app.retrieval.index import REFERENCE_CHUNKS
    from app.retrieval.search import HybridSearcher

    index = synthetic(REFERENCE_CHUNKS * 3, exact_below=20_000)  # sentences (36k rows) in HNSW, chunks exact
    assert index.reference_weights is not None and len(index.reference) <= REFERENCE_CHUNKS + 16 * 6
    assert index.dense.sentences.describe()["kind"] == "hnsw" and index.dense.chunks.describe()["kind"] == "flat"
    embedder = _Embedder()
    top_k = HybridSearcher(_Store(index), embedder, exhaustive_below=0)  # type: ignore[arg-type]
    same, total = 0, 0
    for n, (text, language) in enumerate(_questions(index, embedder, 40)):
        groups = [set(), {"hr"}][n % 2]
        hits = top_k.search(text, language=language, groups=groups, k=8, rerank=False).hits
        assert len(hits) == 8 and all(h.chunk.visible_to(groups) for h in hits)
        # the exhaustive ranking with every chunk's exact statistics, for the first hit
        q, c = embedder.queries[text], embedder.companion.vectors[text]
        same += hits[0].chunk.chunk_id == exhaustive_top(index, q, c, text, language, groups, 1)[0]
        total += 1
    assert same / total >= 0.95


def test_visibility_is_applied_inside_the_index_and_restricted_rows_take_no_place(monkeypatch):
    from app.retrieval import ann
    from app.retrieval.ann import Allowed, build_set

    rng = np.random.default_rng(3)
    rows = unit(rng.standard_normal((6000, 16)))
    groups = np.zeros(len(rows), dtype=np.int64)
    query = rows[0]
    order = np.argsort(-(rows @ query), kind="stable")
    mask = np.ones(len(rows), bool)
    mask[order[:30]] = False  # the 30 best rows are restricted
    for exact_below, kind in [(10**9, "hnsw"), (0, "hnsw"), (0, "ivf")]:  # exact, HNSW, IVF (older builds)
        monkeypatch.setattr(ann, "APPROXIMATE", kind)
        vector_set = build_set("chunks", rows, groups, ["en"], exact_below)
        assert vector_set.describe()["kind"] == ("flat" if exact_below else kind)
        found, _ = vector_set.search(query, 10, Allowed(mask))
        assert len(found) == 10 and mask[found].all()
        assert set(found.tolist()) & set(order[:30].tolist()) == set()
        assert len(set(found.tolist()) & set(order[30:40].tolist())) >= 9  # the best allowed ones


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_the_dense_index_is_chosen_by_size_recorded_and_meets_its_recall(kind, monkeypatch):
    from app.retrieval import ann
    from app.retrieval.ann import FETCH, RECALL_K, Allowed, build_set, exact_top, recall_at

    monkeypatch.setattr(ann, "APPROXIMATE", kind)  # HNSW is built now; IVF builds from before still search
    small = synthetic(400)
    assert {s["kind"] for s in small.dense.describe()["sets"].values()} == {"flat"}
    large = synthetic(2400, exact_below=5000)  # 7,200 sentence rows: approximate; the rest exact
    described = large.dense.describe()
    assert described["sets"]["sentences"]["kind"] == kind and described["sets"]["chunks"]["kind"] == "flat"
    for info in described["sets"]["sentences"]["partitions"].values():
        assert info["recall"] >= 0.95
        assert 1 <= info["nprobe"] <= info["nlist"] if kind == "ivf" else info["ef_search"] >= FETCH * RECALL_K

    # measured again on queries the tuning never saw: a clustered set, as real embeddings are
    rng = np.random.default_rng(11)
    centres = unit(rng.standard_normal((300, 48)))
    rows = unit(centres[rng.integers(0, 300, 60_000)] + 0.9 * rng.standard_normal((60_000, 48)) / np.sqrt(48))
    vector_set = build_set("chunks", rows, np.zeros(len(rows), np.int64), ["en"], exact_below=50_000)
    assert vector_set.describe()["kind"] == kind
    queries = unit(rows[rng.integers(0, len(rows), 100)] + rng.standard_normal((100, 48)) / np.sqrt(48))
    allowed = Allowed(np.ones(len(rows), bool))
    found = np.stack([vector_set.search(q, RECALL_K, allowed)[0] for q in queries])
    assert recall_at(found, exact_top(rows, np.arange(len(rows)), queries, RECALL_K)) >= 0.95


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_a_build_on_disk_records_its_dense_index_and_loads_it_memory_mapped(tmp_path, kind, monkeypatch):
    import json

    from app.retrieval import ann
    from app.retrieval.profile import FORMAT_VERSION

    monkeypatch.setattr(ann, "APPROXIMATE", kind)
    index = synthetic(2400, exact_below=5000)
    assert index.dense.describe()["sets"]["sentences"]["kind"] == kind
    folder = tmp_path / "b1"
    folder.mkdir()
    with open(folder / "chunks.jsonl", "w") as f:
        for c in index.chunks:
            f.write(json.dumps(c.__dict__) + "\n")
    index.views.save(folder)
    index.dense.save(folder / "ann")
    index.sparse.save(str(folder / "bm25"), show_progress=False)
    (folder / "df.json").write_text(json.dumps({"chunks": len(index.chunks), "df": index.df}))
    (folder / "manifest.json").write_text(json.dumps({**index.manifest, "format": FORMAT_VERSION, "build_id": "b1"}))
    loaded = LoadedIndex.load(folder)
    assert loaded.dense.describe() == index.dense.describe()
    assert isinstance(loaded.views.sentences, np.memmap)  # the index holds codes; the file is only read

    from app.retrieval.search import HybridSearcher

    embedder = _Embedder()
    for n, (text, language) in enumerate(_questions(index, embedder, 10)):
        groups = [set(), {"hr"}][n % 2]
        a = HybridSearcher(_Store(index), embedder, exhaustive_below=0)  # type: ignore[arg-type]
        b = HybridSearcher(_Store(loaded), embedder, exhaustive_below=0)  # type: ignore[arg-type]
        assert _top(a, text, language, groups) == _top(b, text, language, groups)

    # a build from before format 3 (a flat faiss.index beside the vectors): every set exact, read into memory
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("dense_index")
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    old = LoadedIndex.load(folder)
    assert {s["kind"] for s in old.dense.describe()["sets"].values()} == {"flat"}
    assert not isinstance(old.views.sentences, np.memmap)


def test_tuning_finds_the_smallest_effort_that_reaches_the_recall_within_a_sixteenth(monkeypatch):
    """The effort is not just the first of the 1.5× steps that passes: the last step is halved until the effort is
    within a sixteenth of the smallest passing one (a smaller efSearch is a faster search)."""
    import faiss

    from app.retrieval import ann

    rng = np.random.default_rng(0)
    rows = unit(rng.standard_normal((3000, 16)))
    index = faiss.IndexHNSWFlat(16, 8, faiss.METRIC_INNER_PRODUCT)
    index.add(rows)
    tried: list[int] = []

    def fake_rescored(index, matrix, ids, queries, k, params):  # type: ignore[no-untyped-def]
        tried.append(params.efSearch)
        return np.full((1, 1), params.efSearch), None

    for smallest in (80, 137, 1000, 2999):
        tried.clear()
        monkeypatch.setattr(ann, "rescored", fake_rescored)
        monkeypatch.setattr(ann, "recall_at", lambda found, exact, s=smallest: 1.0 if found[0, 0] >= s else 0.5)
        effort, recall = ann._tune(index, rows, np.arange(len(rows)), rng)
        assert recall == 1.0 and smallest <= effort <= smallest + max(1, smallest // 16), (smallest, effort, tried)
        assert len(tried) <= 20


def test_searches_of_several_sets_side_by_side_give_what_each_gives_alone(monkeypatch):
    """`search_all` runs the partitions of every approximate set on the shared search threads: the rows and scores
    are those of the same searches one after another, from many request threads at once too."""
    from concurrent.futures import ThreadPoolExecutor

    from app.retrieval import ann
    from app.retrieval.ann import Allowed, Request, build_set, search_all

    rng = np.random.default_rng(5)
    groups = rng.integers(0, 3, 9000)
    sets = [build_set(name, unit(rng.standard_normal((9000, 24))), groups, ["en", "es", "pt"], exact_below)
            for name, exact_below in [("a", 0), ("b", 0), ("c", 10**9)]]  # two HNSW sets, one exact
    mask = rng.random(9000) > 0.2
    shift = np.array([0.0, 0.05, -0.05], dtype="float32")
    queries = unit(rng.standard_normal((20, 24)))

    def ask(q: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return search_all([Request(s, q, 15, Allowed(mask), shift) for s in sets])

    monkeypatch.setattr(ann, "SEARCH_THREADS", 1)
    alone = [ask(q) for q in queries]
    monkeypatch.setattr(ann, "SEARCH_THREADS", 2)
    with ThreadPoolExecutor(4) as requests:
        together = list(requests.map(ask, queries))
    for a, b in zip(alone, together, strict=True):
        for (ids_a, scores_a), (ids_b, scores_b) in zip(a, b, strict=True):
            assert len(ids_a) == 15 and mask[ids_a].all()
            assert ids_a.tolist() == ids_b.tolist() and np.allclose(scores_a, scores_b)


def test_the_longest_partition_searches_start_first(monkeypatch):
    """`search_all` hands the partitions to the search threads by decreasing cost (HNSW: efSearch), so that no
    thread is left with a long search while the others are done."""
    from app.retrieval import ann
    from app.retrieval.ann import Allowed, Request, build_set, search_all

    rng = np.random.default_rng(6)
    groups = rng.integers(0, 3, 6000)
    sets = [build_set(name, unit(rng.standard_normal((6000, 16))), groups, ["en", "es", "pt"], 0)
            for name in ("a", "b")]
    efforts = {("a", 0): 90, ("a", 1): 700, ("a", 2): 300, ("b", 0): 1200, ("b", 1): 95, ("b", 2): 500}
    for s in sets:
        for g, part in (s.parts or {}).items():
            part.effort = efforts[s.name, g]
    started: list[tuple[str, int]] = []
    real = ann.VectorSet._part

    def part(self, group, *args):  # type: ignore[no-untyped-def]
        started.append((self.name, group))
        return real(self, group, *args)

    monkeypatch.setattr(ann.VectorSet, "_part", part)
    monkeypatch.setattr(ann, "SEARCH_THREADS", 1)
    q = unit(rng.standard_normal((1, 16)))[0]
    found = search_all([Request(s, q, 10, Allowed(np.ones(6000, bool))) for s in sets])
    assert started == [("b", 0), ("a", 1), ("b", 2), ("a", 2), ("b", 1), ("a", 0)]
    assert all(len(ids) == 10 for ids, _ in found)


def _mapping(address: int) -> dict[str, str]:
    """The /proc/self/smaps fields of the mapping of this process that holds `address`."""
    fields: dict[str, str] = {}
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split()[0]
        if "-" in first and ":" not in first:
            if inside:
                break
            low, high = (int(x, 16) for x in first.split("-"))
            inside = low <= address < high
        elif inside:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_a_loaded_hnsw_index_is_moved_to_huge_pages(tmp_path):
    """After loading, the codes and links of an HNSW index are marked for 2 MB pages (fewer TLB misses as a search
    follows the graph through hundreds of MB), and moved into them at once where the kernel finds free ones."""
    import faiss

    from app.retrieval.hugepages import _arrays, huge_pages

    mode = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not mode.exists() or "[never]" in mode.read_text():
        pytest.skip("transparent huge pages are off on this machine")
    rows = unit(np.random.default_rng(7).standard_normal((40_000, 256)))
    index = faiss.IndexHNSWSQ(256, faiss.ScalarQuantizer.QT_8bit, 8, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 16
    index.train(rows[:5000])
    index.add(rows)
    faiss.write_index(index, str(tmp_path / "set.faiss"))
    loaded = faiss.read_index(str(tmp_path / "set.faiss"))
    before = loaded.search(rows[:50], 10)
    codes_at, codes_size = _arrays(loaded)[0]
    assert codes_size == 40_000 * 256
    assert huge_pages(loaded) >= 2 << 20
    mapping = _mapping(codes_at + codes_size // 2)
    assert "hg" in mapping["VmFlags"].split()  # MADV_HUGEPAGE (MADV_COLLAPSE moves them at once if it can)
    after = loaded.search(rows[:50], 10)  # the same answers from the moved pages
    assert (after[1] == before[1]).all() and np.allclose(after[0], before[0])


def test_best_over_a_large_array_gives_what_looking_at_every_candidate_gives():
    """Above SAMPLED_ABOVE scores, `best` first keeps the candidates above a threshold read off a sample: the same
    rows in the same order as looking at every candidate, with ties, sparse and dense masks, sorted scores, and a
    sample whose threshold is too high (then every candidate is looked at after all)."""
    from app.retrieval import ann

    def every_candidate(scores: np.ndarray, candidates: np.ndarray, m: int) -> list[int]:
        at = np.flatnonzero(candidates)
        if len(at) > m:
            at = at[scores[at] >= -np.partition(-scores[at], m - 1)[m - 1]]
        return [int(i) for i in at[np.lexsort((at, -scores[at]))][:m]]

    rng = np.random.default_rng(8)
    n = ann.SAMPLED_ABOVE + 12_345
    cases = 0
    for density in (1.0, 0.6, 0.05, 0.0005):
        for m in (1, 80, 160, 1000):
            scores = rng.random(n).astype("float32")
            if m == 160:
                scores = np.round(scores * 50).astype("float32")  # many ties
            candidates = rng.random(n) < density
            assert ann.best(scores, candidates, m) == every_candidate(scores, candidates, m), (density, m)
            cases += 1
    ascending = np.arange(n, dtype="float32")  # the best all at the end
    everyone = np.ones(n, bool)
    assert ann.best(ascending, everyone, 80) == every_candidate(ascending, everyone, 80) == list(range(n - 1, n - 81, -1))
    unlucky = rng.random(n).astype("float32")  # the sample holds 40 of the best 1,000: its threshold is too high
    unlucky[np.arange(40) * ann.SAMPLE_STEP] = 10.0
    assert ann._above_sampled_threshold(unlucky, everyone, 1000) is None
    assert ann.best(unlucky, everyone, 1000) == every_candidate(unlucky, everyone, 1000)
    assert cases == 16

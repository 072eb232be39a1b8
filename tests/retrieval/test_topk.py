"""The vectorised parts of a search give what the plain loops gave: the same visible chunks, the same top
candidates in the same order (ties by position), the same ranks."""

from pathlib import Path

import numpy as np

from app.retrieval.documents import EVERYONE, Chunk
from app.retrieval.index import LoadedIndex, search_structures
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
    dense, sparse, df = search_structures(chunks, vectors)
    manifest = {"build_id": "b", "embedding_model": {"id": "m"}, "documents": {}}
    index = LoadedIndex(Path("."), manifest, chunks, ChunkVectors(vectors, np.zeros((0, 8), "float32"),
                                                                  np.zeros(0, np.int32)), dense, sparse, df)
    for groups in [set(), {"hr"}, {"it"}, {"managers", "it"}, {"nobody"}]:
        assert index.visible_mask(groups).tolist() == [c.visible_to(groups) for c in chunks]
    assert index.visible_mask({"hr"}) is index.visible_mask({"hr"})
    assert not index.visible_mask({"hr"}).flags.writeable

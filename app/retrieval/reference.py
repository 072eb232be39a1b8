"""The exhaustive reference ranking the top-k search is checked against (tests/retrieval/test_topk.py,
bench/retrieval_scale.py): every chunk scored, every signal normalised over every visible chunk — the fusion
before top-k."""

from __future__ import annotations

import numpy as np

from app.retrieval.index import LoadedIndex
from app.retrieval.search import FusionWeights, best, zscore
from app.retrieval.text import query_tokens
from app.retrieval.vectors import sentence_max


def centre(scores: np.ndarray, index: LoadedIndex) -> np.ndarray:
    """Scores less their chunk language's mean."""
    out = scores.astype("float32").copy()
    for code in range(len(index.languages)):
        at = index.language_code == code
        out[at] -= scores[at].mean()
    return out


def exhaustive_top(index: LoadedIndex, q: np.ndarray, c: np.ndarray, text: str, language: str, groups: set[str],
                   k: int) -> list[str]:
    """The ids of the top k chunks for `text` (e5 vector `q`, companion vector `c`) by the fusion before top-k."""
    w, views, visible = FusionWeights(), index.views, index.visible_mask(groups)
    assert views.headings is not None and views.companion is not None
    cosine = views.chunks @ q
    sentence = sentence_max(cosine, views.sentences @ q, views.owners)
    dense = zscore(centre(cosine, index), visible) + w.sentence * zscore(centre(sentence, index), visible)
    headings = zscore(centre(views.headings @ q, index), visible & index.has_heading)
    dense += w.heading * np.where(index.has_heading, headings, 0)
    dense += w.companion * zscore(centre(views.companion @ c, index), visible)
    bm25 = index.bm25_scores(query_tokens(text, language))
    fused = dense + np.where(index.language_of == language, w.bm25, w.bm25_cross) * zscore(bm25, visible)
    return [index.chunks[i].chunk_id for i in best(fused, visible, k)]

"""Question embeddings for analytics (cached), greedy centroid clustering and readable topic labels."""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence

import numpy as np

from app.retrieval.embeddings import Embedder
from app.retrieval.text import fold, tokenize

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CACHE_SIZE = 20_000


def normalized(text: str) -> str:
    """The 'identical question' key: accent-folded, lower-case words joined by one space (punctuation dropped)."""
    return " ".join(_WORD.findall(fold(text)))


class QuestionEncoder:
    """Embeds questions with the app's embedder (query side), keeping recent vectors in a bounded cache so that
    reloading the admin page does not re-embed the whole period.

    Without a loaded model it falls back to one vector per distinct normalized text, so 'similar' degrades to
    'identical' instead of failing.
    """

    def __init__(self, embedder: Embedder | None) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype="float32")
        if self.embedder is None:
            keys = {k: i for i, k in enumerate(dict.fromkeys(normalized(t) for t in texts))}
            out = np.zeros((len(texts), len(keys)), dtype="float32")
            for row, text in enumerate(texts):
                out[row, keys[normalized(text)]] = 1.0
            return out
        model = self.embedder.model_id
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (model, t) not in self._cache))
        if missing:
            fresh = self.embedder.encode_queries(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[(model, text)] = vec
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for t in texts:
                vec = self._cache.get((model, t))
                if vec is None:  # evicted meanwhile by a concurrent request: embed it again
                    vec = self.embedder.encode_queries([t])[0]
                rows.append(vec)
        return np.vstack(rows).astype("float32")


_ENCODERS: dict[int, QuestionEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def encoder_for(embedder: Embedder | None) -> QuestionEncoder:
    """One shared encoder (and cache) per loaded embedder."""
    with _ENCODERS_LOCK:
        key = id(embedder)
        if key not in _ENCODERS or _ENCODERS[key].embedder is not embedder:
            _ENCODERS[key] = QuestionEncoder(embedder)
        return _ENCODERS[key]


def greedy_clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Leader clustering on unit vectors, in input order: each item joins the cluster whose (normalised) centroid
    is most similar if that cosine is ≥ `threshold`, otherwise it starts a new cluster. Deterministic for a given
    order, O(items × clusters), good for the few hundred unanswered questions of a period."""
    sums: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, vec in enumerate(vectors):
        if sums:
            centroids = np.vstack(sums)
            centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-12
            sims = centroids @ vec
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                sums[best] = sums[best] + vec
                members[best].append(i)
                continue
        sums.append(vec.astype("float64").copy())
        members.append([i])
    return members


def topic_label(questions: Sequence[tuple[str, str]], words: int = 3) -> str:
    """The most frequent content words of (text, language) pairs, shown un-stemmed.

    Words are grouped by their Snowball stem (so 'buzzing'/'buzz' count together), counted once per question,
    ranked by count then first appearance; each group is shown as its most common accent-folded spelling.
    """
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    first: dict[str, int] = {}
    for text, language in questions:
        seen: set[str] = set()
        for raw in _WORD.findall(text):
            word = fold(raw)
            stems = tokenize(word, language) if len(word) > 2 and not word.isdigit() else []
            if not stems:
                continue
            key = stems[0]
            forms.setdefault(key, Counter())[word] += 1
            first.setdefault(key, len(first))
            if key not in seen:
                counts[key] += 1
                seen.add(key)
    ranked = sorted(counts, key=lambda k: (-counts[k], first[k]))[:words]
    return " ".join(forms[k].most_common(1)[0][0] for k in ranked) or "other"

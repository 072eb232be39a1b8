"""Hybrid retrieval: e5 (chunks and their sentences), the companion encoder and BM25, each score normalised
(z-scores) and summed with weights; ACL-filtered, optionally reranked.

Score fusion beats reciprocal-rank fusion here because it keeps *how far* a chunk stands out: on FaQuAD
(Portuguese, one language) BM25 at weight 0.15 lifts recall@1 from .73 to .84 where RRF managed .75; the
sweeps are in eval/README.md. The top fused score is also a confidence signal (app/chat/confidence.py).

A search is top-k per signal: each signal's best `signal_k` chunks among those the user may see (the visibility
filter is inside each index search: app/retrieval/ann.py), and only those candidates are scored on every signal
and fused. Each signal's normalisation (centred per language, z-scored over the visible chunks) uses the build's
reference population (`LoadedIndex`), not every chunk. When the user sees at most `exhaustive_below` chunks every
visible chunk is a candidate: on a small corpus the ranking is the exhaustive one exactly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from app.retrieval.ann import Request, best, search_all
from app.retrieval.documents import Hit
from app.retrieval.embeddings import Embedder
from app.retrieval.index import IndexNotFound, IndexStore, LoadedIndex, Signals, Visibility
from app.retrieval.language import detect_language
from app.retrieval.profile import Expected, check
from app.retrieval.rerank import Reranker
from app.retrieval.text import query_tokens, tokenize
from app.retrieval.vectors import SENTENCE_BREAK, sentences

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "bm25")
__all__ = ["MODES", "FusionWeights", "HybridSearcher", "SearchResult", "best", "ranks", "zscore"]


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the z-normalised scores; the chunk's own e5 cosine counts 1."""

    sentence: float = 1.0  # best e5 cosine among the chunk's sentences
    companion: float = 0.7  # the companion encoder's cosine
    bm25: float = 0.15  # BM25, for chunks in the question's language
    bm25_cross: float = 0.15  # BM25, for chunks in another language (only names and numbers can match)
    heading: float = 0.5  # the chunk's heading, encoded as a question, against the question
    follow_up: float = 2.0  # within a document, how much a chunk the follow-up alone matches less loses


@dataclass
class SearchResult:
    hits: list[Hit]
    build_id: str
    query_vector: np.ndarray
    idf: Callable[[str], float]


def zscore(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scores in standard deviations from the mean of the visible chunks."""
    values = scores[mask]
    std = float(values.std()) if len(values) > 1 else 0.0
    return (scores - float(values.mean())) / std if std > 1e-9 else np.zeros_like(scores)


def ranks(scores: np.ndarray, mask: np.ndarray, positions: list[int]) -> dict[int, int]:
    """The rank among the `mask` chunks (0 = best; ties by position) of each of `positions` that is in the mask."""
    inside = [i for i in positions if mask[i]]
    if not inside:
        return {}
    values, at = scores[mask], np.flatnonzero(mask)
    mine = scores[inside][:, None]
    above = (values[None, :] > mine) | ((values[None, :] == mine) & (at[None, :] < np.array(inside)[:, None]))
    return dict(zip(inside, above.sum(axis=1).tolist(), strict=True))


@dataclass
class Norm:
    """How one signal is normalised for one text and one group set: per-language means (centring), then the
    visible chunks' mean and standard deviation (std 0: the signal says nothing, its z-scores are 0)."""

    language_mean: np.ndarray | None  # float32 per language number; None: no centring
    mean: float
    std: float

    def z(self, raw: np.ndarray, language_code: np.ndarray) -> np.ndarray:
        centred = raw - self.language_mean[language_code] if self.language_mean is not None else raw
        return (centred - self.mean) / self.std if self.std > 1e-9 else np.zeros_like(centred)


def normalisation(raw: np.ndarray, language_code: np.ndarray, languages: int, mask: np.ndarray,
                  weights: np.ndarray | None, debias: bool) -> Norm:
    """A signal's `Norm` from its scores on the reference population (`weights` None: every chunk, unweighted,
    computed exactly as `zscore` over a centred array does)."""
    means = None
    if debias:
        means = np.zeros(languages, dtype="float32")
        for code in range(languages):
            at = np.flatnonzero(language_code == code)
            if len(at):
                means[code] = raw[at].mean() if weights is None else np.average(raw[at], weights=weights[at])
        centred = raw.astype("float32") - means[language_code]
    else:
        centred = raw.astype("float32")
    values = centred[mask]
    if weights is None:
        std = float(values.std()) if len(values) > 1 else 0.0
        return Norm(means, float(values.mean()) if len(values) else 0.0, std)
    if len(values) < 2:
        return Norm(means, float(values.mean()) if len(values) else 0.0, 0.0)
    w = weights[mask]
    mean = float(np.average(values.astype("float64"), weights=w))
    return Norm(means, mean, float(np.sqrt(np.average((values - mean) ** 2, weights=w))))


class TextScores:
    """One text (the question, or a follow-up alone) against one build and group set: its signals' normalisation,
    its best chunks per signal, and its fused dense score for any chunks."""

    def __init__(self, index: LoadedIndex, seen: Visibility, query: np.ndarray, companion: np.ndarray | None,
                 weights: FusionWeights, debias: bool) -> None:
        self.index, self.seen, self.query, self.companion, self.w = index, seen, query, companion, weights
        ref = index.reference_signals(query, companion)
        self.exact = index.reference_weights is None  # the reference population is every chunk
        self.reference = ref
        codes, n, w = index.language_code[index.reference], len(index.languages), index.reference_weights

        def norm(raw: np.ndarray, mask: np.ndarray) -> Norm:
            return normalisation(raw, codes, n, mask, w, debias)

        self.norms = {"cosine": norm(ref.cosine, seen.reference), "sentence": norm(ref.sentence, seen.reference)}
        self.use_heading = ref.heading is not None and bool(weights.heading)
        if self.use_heading:  # only real section headings: a bare document title says little
            assert ref.heading is not None
            self.norms["heading"] = norm(ref.heading, seen.heading_reference)
        if ref.companion is not None:
            self.norms["companion"] = norm(ref.companion, seen.reference)

    def candidates(self, k: int) -> np.ndarray:
        """The best k visible chunks by each dense signal (each searched with its language centring)."""
        index, seen, dense, q = self.index, self.seen, self.index.dense, self.query
        if self.exact:  # every chunk is scored already (an exact build): the best of those scores
            ref, codes, found = self.reference, index.language_code, []
            for name, raw, mask in [("cosine", ref.cosine, seen.mask), ("sentence", ref.sentence, seen.mask),
                                    ("heading", ref.heading, seen.mask & index.has_heading),
                                    ("companion", ref.companion, seen.mask)]:
                norm = self.norms.get(name)
                if raw is not None and norm is not None:
                    centred = raw - norm.language_mean[codes] if norm.language_mean is not None else raw
                    found.append(np.array(best(centred, mask, k), dtype=np.int64))
            return np.concatenate(found)
        wanted = [Request(dense.chunks, q, k, index.allowed(seen, "chunks"), self.norms["cosine"].language_mean),
                  Request(dense.sentences, q, 2 * k, index.allowed(seen, "sentences"),
                          self.norms["sentence"].language_mean)]
        if self.use_heading and dense.headings is not None:
            wanted.append(Request(dense.headings, q, k, index.allowed(seen, "headings"),
                                  self.norms["heading"].language_mean))
        if "companion" in self.norms and dense.companion is not None and self.companion is not None:
            wanted.append(Request(dense.companion, self.companion, k, index.allowed(seen, "companion"),
                                  self.norms["companion"].language_mean))
        found = [rows for rows, _ in search_all(wanted)]  # the sets' partitions searched side by side
        found[1] = index.views.owners[found[1]].astype(np.int64)  # sentence rows -> their chunks
        return np.concatenate(found)

    def raw(self, positions: np.ndarray) -> Signals:
        """The raw signals of these chunks (taken from the reference scores when those cover every chunk)."""
        if not self.exact:
            return self.index.signals(positions, self.query, self.companion)
        ref = self.reference
        return Signals(ref.cosine[positions], ref.sentence[positions],
                       None if ref.heading is None else ref.heading[positions],
                       None if ref.companion is None else ref.companion[positions],
                       ref.sentence_cosines, ref.sentence_rows)

    def fused(self, positions: np.ndarray, raw: Signals) -> np.ndarray:
        """The encoders' fused z-scores of these chunks."""
        w, codes = self.w, self.index.language_code[positions]
        dense = self.norms["cosine"].z(raw.cosine, codes) + w.sentence * self.norms["sentence"].z(raw.sentence, codes)
        if self.use_heading and raw.heading is not None:
            has = self.index.has_heading[positions]
            dense += w.heading * np.where(has, self.norms["heading"].z(raw.heading, codes), 0.0)
        if "companion" in self.norms and raw.companion is not None:
            dense += w.companion * self.norms["companion"].z(raw.companion, codes)
        return dense

    def best_sentence(self, position: int, raw: Signals, at: int) -> int | None:
        """Which of chunk `position`'s sentences is closest to the text; `at`: its place in `raw` (its position
        when the scores cover every chunk)."""
        start, end = int(raw.sentence_rows[at]), int(raw.sentence_rows[at + 1])
        return int(np.argmax(raw.sentence_cosines[start:end])) if end > start else None


class HybridSearcher:
    def __init__(self, store: IndexStore, embedder: Embedder, *, reranker: Reranker | None = None,
                 retrieve_k: int = 40, weights: FusionWeights = FusionWeights(),
                 language_debias: bool = True, signal_k: int | None = None, exhaustive_below: int = 2000) -> None:
        self.store, self.embedder, self.reranker = store, embedder, reranker
        self.retrieve_k, self.weights = retrieve_k, weights
        self.language_debias = language_debias  # centre each encoder's scores per chunk language
        self.signal_k = signal_k  # candidates per signal (default twice the chunks fused: 2 × max(k, retrieve_k))
        self.exhaustive_below = exhaustive_below  # every visible chunk is a candidate when they are this few
        self._warned_build = ""
        self._usable_build = ""  # the last build `check` found this server can use

    def index(self) -> LoadedIndex:
        index = self.store.get()
        if index is None:
            raise IndexNotFound(self.store.last_error or "no index loaded")
        if index.build_id != self._usable_build:  # checked once per build, not on every search
            problems = check(index.manifest, Expected(self.embedder.model_id))
            if problems.errors:
                raise IndexNotFound(problems.errors[0])
            self._usable_build = index.build_id
        return index

    def detect_language(self, text: str) -> tuple[str, float]:
        """The text's language, with the loaded documents' vocabulary when there is a build."""
        index = self.store.get()
        return detect_language(text, index.vocabulary if index is not None else None)

    def uses(self, code: str) -> bool:
        """Whether the loaded documents use `code` ("INC0012345", "LT-20931": each of its parts with a digit);
        True when no build is loaded, as nothing can be told."""
        index = self.store.get()
        parts = [t for t in tokenize(code, "en") if any(c.isdigit() for c in t)]
        return index is None or not parts or all(t in index.df for t in parts)

    def search(self, query: str, *, language: str, groups: set[str], k: int = 8,
               mode: str = "hybrid", rerank: bool = True, follow_up: str | None = None,
               vectors: np.ndarray | None = None) -> SearchResult:
        """The top k chunks for `query`. For a follow-up, `query` is the conversation's question with the
        follow-up added, and `follow_up` the follow-up alone: it votes again, so the section it asks about wins
        within the topic ("what about New Year's Eve?" after a question about Christmas). `vectors`: the e5
        vectors of [query, follow_up] when the caller has them already."""
        index = self.index()
        w = self.weights
        follow_up = follow_up if follow_up and w.follow_up else None
        if vectors is None or len(vectors) < (2 if follow_up else 1):  # the caller's: e5 of [query, follow_up]
            vectors = self.embedder.encode_queries([query, follow_up] if follow_up else [query])
        qvec = vectors[0]
        seen = index.visibility(groups)
        if not seen.count:
            return SearchResult([], index.build_id, qvec, index.idf)
        m = max(k, self.retrieve_k)
        signal_k = self.signal_k or 2 * m
        main = TextScores(index, seen, qvec, self._companion_vector(index, query), w, self.language_debias)
        alone = None
        if follow_up:
            alone = TextScores(index, seen, vectors[1], self._companion_vector(index, follow_up), w,
                               self.language_debias)
        # the candidates: every visible chunk, or each signal's best
        exhaustive = seen.count <= self.exhaustive_below
        dense_found = None
        if not exhaustive and mode != "bm25":  # the dense searches run while BM25 is scored here
            texts = [main] if alone is None else [main, alone]
            dense_found = overlapped(lambda: [t.candidates(signal_k) for t in texts])
        bm25 = index.bm25_scores(query_tokens(query, language))
        zb = bm25_norm(bm25, seen, exact=main.exact) if mode != "dense" else (0.0, 0.0)
        if exhaustive:
            at = np.flatnonzero(seen.mask)
        else:
            found: list[np.ndarray] = []
            if mode != "dense":
                found.append(np.array(best(bm25, seen.mask & (bm25 > 0), signal_k), dtype=np.int64))
            if dense_found is not None:
                found.extend(dense_found.result())
            at = np.unique(np.concatenate(found))
            if alone is not None:  # a chunk is measured against the best chunk of its document
                at = np.unique(index.positions_in_documents(at))
                at = at[seen.mask[at]]
        raw = main.raw(at)
        dense = main.fused(at, raw)
        if alone is not None:  # within each document, the sections the follow-up itself asks about come first
            alone_dense = alone.fused(at, alone.raw(at))
            dense = dense - w.follow_up * below_document_best(alone_dense, index.doc_of[at], np.ones(len(at), bool))
        scores = bm25[at]
        matched = scores > 0
        if mode == "dense":
            fused, candidates = dense, np.ones(len(at), bool)
        else:
            z = (scores - zb[0]) / zb[1] if zb[1] > 1e-9 else np.zeros_like(scores)
            if mode == "bm25":
                fused, candidates = z, matched
            else:
                weight = np.where(index.language_of[at] == language, w.bm25, w.bm25_cross)
                fused, candidates = dense + weight * z, np.ones(len(at), bool)
        top = best(fused, candidates, m)
        dense_rank, bm25_rank = ranks(dense, np.ones(len(at), bool), top), ranks(scores, matched, top)
        place = 0 if main.exact else None  # exact: `raw` holds every chunk's sentence scores

        def hit(j: int) -> Hit:
            i = int(at[j])
            return Hit(index.chunks[i], float(fused[j]), dense=float(raw.cosine[j]), sentence=float(raw.sentence[j]),
                       bm25=float(scores[j]) if scores[j] > 0 else None, dense_rank=dense_rank.get(j),
                       bm25_rank=bm25_rank.get(j), best_sentence=main.best_sentence(i, raw, i if place == 0 else j))

        hits = [hit(j) for j in top]
        hits = prefer_language(hits, language, index, main, seen.mask)
        hits = follow_pointers(hits, index)
        if rerank and self.reranker is not None and hits:
            hits = self.reranker.rerank(query, hits[: max(k * 3, 20)])
        return SearchResult(whole_sections(hits[:k], index), index.build_id, qvec, index.idf)

    def _companion_vector(self, index: LoadedIndex, query: str) -> np.ndarray | None:
        """The companion's query vector, when this server and the build use the same companion encoder."""
        companion = self.embedder.companion
        if companion is None:
            return None
        if index.companion_id != companion.model_id:
            if self._warned_build != index.build_id:  # once per build: the answer still works without it
                self._warned_build = index.build_id
                log.warning("index build %s has companion vectors %r, this server uses %r: ranking without the "
                            "companion until `ayuda index` rebuilds it", index.build_id, index.companion_id or "none",
                            companion.model_id)
            return None
        return np.asarray(companion.encode_queries([query])[0])


_overlap = ThreadPoolExecutor(8, thread_name_prefix="dense")  # threads start when first used


def overlapped(work: Callable[[], list[np.ndarray]]) -> Future[list[np.ndarray]]:
    """`work` started on a thread of its own (the dense searches of a large build, while the caller scores BM25:
    at 1M chunks, 59 ms a question one after the other). Its own pool, not the search threads it waits for."""
    return _overlap.submit(work)


def bm25_norm(bm25: np.ndarray, seen: Visibility, *, exact: bool) -> tuple[float, float]:
    """Mean and standard deviation of BM25 over the visible chunks (a chunk without a query word counts as 0).
    `exact` (a small build): as `zscore` computes them; else from two sums over the masked array, with no index
    of the chunks that have a hit (at 1M chunks that index took 12 of a question's 56 ms)."""
    if exact:
        values = bm25[seen.mask]
        return (float(values.mean()) if len(values) else 0.0), (float(values.std()) if len(values) > 1 else 0.0)
    if seen.count < 2:
        return 0.0, 0.0
    visible = np.where(seen.mask, bm25, 0.0).astype("float64")  # two sums over the array: no index of the hits
    mean = float(visible.sum()) / seen.count
    variance = float(visible @ visible) / seen.count - mean * mean
    return mean, float(np.sqrt(max(variance, 0.0)))


def below_document_best(scores: np.ndarray, doc_of: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """How far each visible chunk's score is below the best visible chunk of its document (`doc_of`: each
    chunk's document number); 0 for that one and for chunks the user can't see."""
    best = np.full(int(doc_of.max()) + 1 if len(doc_of) else 0, -np.inf)
    np.maximum.at(best, doc_of[visible], scores[visible])
    return np.where(visible, best[doc_of] - scores, 0.0)


def whole_sections(hits: list[Hit], index: LoadedIndex) -> list[Hit]:
    """A hit from a section split into several chunks carries the whole section: the fact asked for may sit in
    the chunk before ("never cut a list mid-way"). The quote still centres on the hit's best sentence."""
    for hit in hits:
        position = index.position.get(hit.chunk.chunk_id)
        if position is not None and len(index.section_of(position)) > 1:
            hit.passage = index.section_text(position)
    return hits


def prefer_language(hits: list[Hit], language: str, index: LoadedIndex, text: TextScores,
                    visible: np.ndarray) -> list[Hit]:
    """Swap a hit from a translated document for the best-matching chunk of the user's-language version."""
    siblings = index.versions_in(language)
    out: list[Hit] = []
    seen: set[str] = set()
    for hit in hits:
        c = hit.chunk
        target = siblings.get(c.translation_key) if c.translation_key and c.language != language else None
        if target:
            options = np.array([i for i in index.positions_of(target) if visible[i]], dtype=np.int64)
            if len(options):
                raw = text.raw(options)
                j = int(np.argmax(raw.sentence))  # the first of equals, as max() over the options
                best = int(options[j])
                hit = Hit(index.chunks[best], hit.score, dense=max(float(raw.cosine[j]), hit.dense or 0.0),
                          sentence=max(float(raw.sentence[j]), hit.sentence or 0.0), bm25=hit.bm25,
                          dense_rank=hit.dense_rank, bm25_rank=hit.bm25_rank,
                          best_sentence=text.best_sentence(best, raw, best if text.exact else j))
        if hit.chunk.chunk_id in seen:
            continue
        seen.add(hit.chunk.chunk_id)
        out.append(hit)
    return out


_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")
_TITLE_REF = re.compile(r"(?<![*\w])\*([^*\n]{12,})\*(?![*\w])|[“\"]([^”\"\n]{12,})[”\"]")  # *Page title*, "Page title"


def pointer_scope(text: str, sentence: str) -> str:
    """Where a pointer for `sentence` may sit: the sentence itself, and in a list item also the next sentence
    (an item often names its case first and points to the page next: "São Paulo: … Amounts are in [page](…)").
    In a paragraph the next sentence is often a pointer for something else ("… See *Desk Booking* to reserve
    a desk."), so it does not count."""
    head = sentence[:40]
    for line in text.split("\n"):
        at = line.find(head)
        if at >= 0 and _LIST_ITEM.match(line):
            rest = [p for p in SENTENCE_BREAK.split(line[at:]) if p.strip()]
            return " ".join(rest[:2])
    return sentence


def pointed_docs(scope: str, index: LoadedIndex) -> set[str]:
    """Documents a passage points to: by link to their URL, or by (the start of) their title in *italics* or
    quotes."""
    found = {index.doc_by_url.get(u.split("#")[0].rstrip("/")) for u in _LINK.findall(scope)}
    for match in _TITLE_REF.finditer(scope):
        named = " ".join((match.group(1) or match.group(2)).lower().split())
        found |= {doc for doc, title in index.doc_titles.items() if title.startswith(named)}
    return {d for d in found if d}


def follow_pointers(hits: list[Hit], index: LoadedIndex, top: int = 3, window: int = 10) -> list[Hit]:
    """A passage whose sentence closest to the question points to another page for the details ("Amounts
    and rules are in [Vale-refeição …](…)") ranks below that page when the page is a candidate too: the
    English overview that merely mentions a topic defers to the page about it, in whatever language."""
    out = list(hits)
    for i in range(min(top, len(out))):
        hit = out[i]
        if hit.best_sentence is None:
            continue
        parts = sentences(hit.chunk.text)
        if hit.best_sentence >= len(parts):
            continue
        linked = pointed_docs(pointer_scope(hit.chunk.text, parts[hit.best_sentence]), index) - {hit.chunk.doc_id}
        j = next((j for j in range(i + 1, min(window, len(out))) if out[j].chunk.doc_id in linked), None)
        if j is not None:
            target = out.pop(j)
            target.score = max(target.score, hit.score)
            out.insert(i, target)
    return out

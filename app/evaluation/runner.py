"""Runs a benchmark through the retrieval library and the chat pipeline, once per configuration (ablation).

For every question: the chat pipeline's answer (`ChatService.respond`, no persistence) with its outcome,
confidence and citations, timed; and a deeper ranking of documents from the same search text for the
retrieval metrics. Configurations share one index and one embedder.
"""

from __future__ import annotations

import copy
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.chat.composer import Citation
from app.chat.llm import LLMClient
from app.chat.responder import Draft
from app.chat.service import ChatService
from app.config import Settings
from app.evaluation.composers import cited_passages, faithful, judge_client
from app.evaluation.composers import summary as composer_summary
from app.evaluation.datasets import Benchmark, EvalItem, fingerprint, golden, shared_benchmark, subsample
from app.evaluation.judgment import heldout_intent_scores, intent_scores
from app.evaluation.memindex import MemoryStore, build_memory_index, corpus_index
from app.evaluation.metrics import ANSWER_OUTCOMES, facts_found, language_match
from app.evaluation.scoring import Record, Scored, score
from app.retrieval.chunking import ChunkerParams
from app.retrieval.embeddings import Embedder
from app.retrieval.index import IndexStore, LoadedIndex
from app.retrieval.search import HybridSearcher, SearchResult
from app.security import User

RANK_CHUNKS = 40  # chunks fetched for the document ranking behind recall@10 / nDCG@10
GATED_REASONS = (None, "low_confidence")


@dataclass(frozen=True)
class Ablation:
    name: str
    mode: str
    rerank: bool


ABLATIONS = (Ablation("bm25", "bm25", False), Ablation("dense", "dense", False), Ablation("hybrid", "hybrid", False))
RERANKED = Ablation("hybrid+rerank", "hybrid", True)


@dataclass
class RunOptions:
    benchmark: str = "golden"
    golden_dir: Path = Path("eval/golden")
    ablations: bool = True
    limit: int | None = None
    max_confident_wrong: float = 0.03
    split: str | None = None  # golden set: only dev or only test (default: both, reported apart)
    composer: str = "extractive"  # or "llm": the configured endpoint, compared with the extractive composer


@dataclass
class RunResult:
    benchmark: Benchmark
    configs: dict[str, Scored]
    primary: str
    meta: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def flat(self) -> dict[str, float | None]:
        """"<config>.<metric>" for every overall metric: what the baseline stores and the gate compares."""
        flat = {f"{name}.{k}": v for name, s in self.configs.items() for k, v in s.overall.items()}
        for name, s in self.configs.items():  # the golden set's splits, gated apart
            for split, metrics in s.breakdowns.get("split", {}).items():
                if split in ("dev", "test"):
                    flat.update({f"{name}.{split}.{k}": v for k, v in metrics.items()})
        return flat


class FixedModeSearcher(HybridSearcher):
    """The configured searcher with the retrieval mode and reranking fixed by an ablation; remembers the last
    search text the chat pipeline asked for, so the retrieval metrics rank exactly what the pipeline searched."""

    def __init__(self, base: HybridSearcher, store: IndexStore, ablation: Ablation) -> None:
        super().__init__(store, base.embedder, reranker=base.reranker if ablation.rerank else None,
                         retrieve_k=base.retrieve_k, weights=base.weights, language_debias=base.language_debias)
        self.ablation = ablation
        self.last_query: str | None = None
        self.last_follow_up: str | None = None

    def search(self, query: str, *, language: str, groups: set[str], k: int = 8,
               mode: str = "hybrid", rerank: bool = True, follow_up: str | None = None,
               vectors: np.ndarray | None = None) -> SearchResult:
        self.last_query, self.last_follow_up = query, follow_up
        return super().search(query, language=language, groups=groups, k=k, mode=self.ablation.mode,
                              rerank=self.ablation.rerank, follow_up=follow_up, vectors=vectors)


@dataclass
class _Turn:  # what ChatService._language / _contextualize read from a stored message
    role: str
    search_query: str
    language: str
    content: str = ""


def configurations(with_ablations: bool, has_reranker: bool) -> list[Ablation]:
    """The configurations to run, the configured pipeline last (it is the primary one)."""
    configured = RERANKED if has_reranker else ABLATIONS[-1]
    if not with_ablations:
        return [configured]
    return [*ABLATIONS, RERANKED] if has_reranker else list(ABLATIONS)


def gold_groups(item: EvalItem, index: LoadedIndex) -> list[frozenset[str]]:
    """Each gold document with the documents that count as it: its translations and listed equivalents."""
    by_key: dict[str, set[str]] = {}
    for doc_id, meta in index.documents.items():
        if meta.get("translation_key"):
            by_key.setdefault(meta["translation_key"], set()).add(doc_id)
    groups = []
    for doc in item.gold_docs:
        key = index.documents.get(doc, {}).get("translation_key")
        groups.append(frozenset({doc, *item.equivalents, *(by_key.get(key, set()) if key else set())}))
    return groups


def language_versions(index: LoadedIndex) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for meta in index.documents.values():
        if meta.get("translation_key"):
            versions.setdefault(meta["translation_key"], set()).add(meta.get("language", ""))
    return versions


def _cited_meta(citations: list[Citation], index: LoadedIndex) -> list[tuple[str, str, str]]:
    return [(c.doc_id, c.language, index.documents.get(c.doc_id, {}).get("translation_key", ""))
            for c in citations]


def ask(chat: ChatService, searcher: FixedModeSearcher, item: EvalItem, index: LoadedIndex, pipeline: bool,
        versions: dict[str, set[str]], judge: LLMClient | None = None) -> Record:
    """One question through the pipeline (or only retrieval), as a Record."""
    user = User("eval@ayuda.local", frozenset(g.lower() for g in item.groups))
    history: list[_Turn] = []
    for earlier in item.context:  # the conversation so far, as the chat service would have stored it
        lang = chat._language(earlier, history, "eval" if history else None)  # type: ignore[arg-type]
        history.append(_Turn("user", chat._contextualize(earlier, history), lang, earlier))
    lang = chat._language(item.question, history, "eval" if history else None)  # type: ignore[arg-type]
    rewritten = chat._rewrite(item.question, history, False)[0] if pipeline and history else None
    query = rewritten or chat._contextualize(item.question, history)
    gold = gold_groups(item, index)
    searcher.last_query = searcher.last_follow_up = None
    searcher.embedder.forget_queries()  # timed as a new question; its own repeats (the ranking below) are cached
    draft: Draft | None = None
    started = time.perf_counter()
    search_text, follow_up = query, (item.question if query != item.question else None)
    if pipeline:
        draft = chat.respond(user, item.question, query, lang, standalone=rewritten is not None)
        search_text, follow_up = searcher.last_query or query, searcher.last_follow_up
        focus = draft.retrieval.get("focus") or {}
        if focus:  # the message's questions were searched alone too: rank what the answer came from
            search_text, follow_up = (focus["text"] if focus["used"] else query), None
    latency = (time.perf_counter() - started) * 1000  # the pipeline's latency (retrieval only: the search's)
    ranking = searcher.search(search_text, language=lang, groups=user.visible_groups, k=RANK_CHUNKS,
                              follow_up=follow_up)
    if not pipeline:
        latency = (time.perf_counter() - started) * 1000
    ranked = list(dict.fromkeys(h.chunk.doc_id for h in ranking.hits))
    record = Record(id=item.id, language=item.language, kind=item.kind, department=item.department,
                    expect=item.expect, question=item.question, gold=gold, ranked=ranked, latency_ms=latency,
                    query=query, pipeline=pipeline, facts=item.facts, split=item.split,
                    gold_sections=item.gold_sections)
    if draft is None:
        return record
    record.outcome, record.confidence, record.reason = draft.outcome, draft.confidence, draft.reason
    record.answer, record.answer_language = draft.answer, lang
    record.cited = [c.doc_id for c in draft.citations]
    record.cited_sections = [c.section for c in draft.citations]
    record.intent = (draft.retrieval.get("intent") or {}).get("intent", "")
    if draft.outcome in ANSWER_OUTCOMES or draft.citations:
        record.language_ok = language_match(item.language, lang, _cited_meta(draft.citations, index), versions)
    record.fact_ranks = {fact: next((i for i, h in enumerate(draft.hits) if facts_found(h.chunk.text, [fact])[0]),
                                    None) for fact in record.missing_facts()}
    record.gated = draft.reason in GATED_REASONS and draft.outcome in ("answered", "answered_offer_human",
                                                                      "escalated")
    if "llm" in draft.retrieval:  # --composer llm: the quoted answer to the same passages, for comparison
        record.composer = {"result": draft.retrieval["llm"]["result"], "ms": draft.retrieval["llm"]["ms"],
                           "extractive": chat.extractive.compose(query, lang, draft.hits).answer}
        if judge is not None and record.composer["result"] == "ok":
            record.composer["faithful"] = faithful(judge, item.question,
                                                   cited_passages(draft.hits, draft.citations), draft.answer)
    record.candidate_cited, record.candidate_answer = record.cited, draft.answer
    if record.gated and draft.outcome not in ANSWER_OUTCOMES:  # what it would have said above the threshold
        composed = chat.extractive.compose(query, lang, draft.hits)
        record.candidate_cited = [c.doc_id for c in composed.citations]
        record.candidate_answer = composed.answer
    return record


def load_benchmark(options: RunOptions) -> Benchmark:
    if options.benchmark == "golden":
        bench = golden(options.golden_dir, options.split)
    else:
        bench = shared_benchmark(options.benchmark)
    if options.limit:
        bench.items = subsample(bench.items, options.limit)
        bench.fingerprint = fingerprint(bench.items)
    return bench


def run(settings: Settings, embedder: Embedder, options: RunOptions,
        progress: Callable[[str, int, int], None] | None = None, log: Callable[[str], None] = lambda _: None,
        bench: Benchmark | None = None) -> RunResult:
    from app.services import build_services

    bench = bench or load_benchmark(options)
    started = dt.datetime.now(dt.UTC)
    params = ChunkerParams(settings.chunk_size, settings.chunk_overlap)
    with tempfile.TemporaryDirectory(prefix="ayuda-eval-") as scratch:
        t0 = time.perf_counter()
        if bench.documents is None:
            index_dir, how = corpus_index(settings.corpus_dir, settings.index_dir, Path(scratch) / "index",
                                          embedder, params)
            store = IndexStore(index_dir, check_seconds=float("inf"))
        else:
            log(f"indexing {len(bench.documents)} documents in memory …")
            store = MemoryStore(build_memory_index(bench.documents, embedder, params))
            how = f"in-memory index of {len(bench.documents)} benchmark documents"
        index = store.get() if bench.documents is not None else store.load_now()
        if index is None:
            raise RuntimeError(store.last_error or "the evaluation index could not be loaded")
        index_seconds = time.perf_counter() - t0
        log(f"index: {how} — build {index.build_id}, {len(index.chunks)} chunks ({index_seconds:.1f} s)")
        llm = {} if options.composer == "llm" else {"llm_base_url": ""}  # the baseline is the extractive composer
        services = build_services(settings.model_copy(update={
            "database_url": f"sqlite:///{Path(scratch) / 'eval.db'}", "index_dir": Path(scratch) / "unused-index",
            **llm}), embedder=embedder)
        judge = judge_client(settings) if options.composer == "llm" else None
        assert services.searcher is not None
        warnings = _check_gold(bench, index)
        versions = language_versions(index)
        configs: dict[str, Scored] = {}
        plan = configurations(options.ablations and options.composer != "llm", services.searcher.reranker is not None)
        for ablation in plan:
            searcher = FixedModeSearcher(services.searcher, store, ablation)
            chat = copy.copy(services.chat)
            chat.searcher = searcher
            ask(chat, searcher, bench.items[0], index, bench.pipeline, versions)  # warm-up, not scored
            records, t1 = [], time.perf_counter()
            for i, item in enumerate(bench.items, start=1):
                records.append(ask(chat, searcher, item, index, bench.pipeline, versions, judge))
                if progress:
                    progress(ablation.name, i, len(bench.items))
            configs[ablation.name] = score(ablation.name, records, time.perf_counter() - t1,
                                           options.max_confident_wrong)
        intents = None
        if bench.name == "golden" and bench.pipeline and options.composer != "llm":  # the composer run: its table
            primary = configs[plan[-1].name].records
            intents = {"held-out exemplars": heldout_intent_scores(embedder, settings.cache_dir)}
            intents |= {f"golden {s}": intent_scores([r for r in primary if r.split == s]) for s in ("dev", "test")
                        if any(r.split == s for r in primary)}
        composer = composer_summary(configs[plan[-1].name].records, services.searcher.detect_language) \
            if options.composer == "llm" else None
        services.engine.dispose()
    meta = {
        "benchmark": bench.name, "description": bench.description, "source": bench.source,
        "started_at": started.isoformat(timespec="seconds"), "questions": len(bench.items),
        "limit": options.limit, "fingerprint": bench.fingerprint, "index": how, "build_id": index.build_id,
        "chunks": len(index.chunks), "documents": len(index.documents), "index_seconds": round(index_seconds, 1),
        "embedding_model": embedder.model_id, "reranker": str(settings.reranker_model or ""),
        "answer_threshold": settings.answer_threshold, "offer_human_threshold": settings.offer_human_threshold,
        "retrieve_k": settings.retrieve_k, "companion_model": embedder.companion_id, "chunk_size": settings.chunk_size,
        "fusion": {"sentence": settings.sentence_weight, "companion": settings.companion_weight,
                   "bm25": settings.bm25_weight, "bm25_cross": settings.bm25_cross_weight,
                   "heading": settings.heading_weight},
        "chunk_overlap": settings.chunk_overlap, "pipeline": bench.pipeline,
        "max_confident_wrong": options.max_confident_wrong,
        "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "intents": intents, "composer": options.composer,
        "llm": {"model": settings.llm_model, "summary": composer} if composer else None,
    }
    return RunResult(bench, configs, plan[-1].name, meta, warnings)


def _check_gold(bench: Benchmark, index: LoadedIndex) -> list[str]:
    """Gold documents that the index does not know (a typo in the golden file, or a document not indexed)."""
    unknown: dict[str, list[str]] = {}
    for item in bench.items:
        for doc in item.gold_docs:
            if doc not in index.documents:
                unknown.setdefault(doc, []).append(item.id)
    return [f"gold document {doc!r} is not in the index (questions {', '.join(ids[:5])})"
            for doc, ids in sorted(unknown.items())]

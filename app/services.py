"""The heavy objects of one running Ayuda, built once (app start-up, CLI command, eval run) and shared."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.chat.composer import ExtractiveComposer
from app.chat.confidence import Calibration
from app.chat.intents import IntentClassifier
from app.chat.llm import LLMClient, LLMComposer, Rewriter
from app.chat.service import ChatService
from app.chat.store import ConversationStore
from app.config import Settings
from app.db import make_engine, make_session_factory, upgrade
from app.errors import NotReady
from app.escalation.faq import FaqPublisher
from app.escalation.flows import EscalationFlow
from app.escalation.notify import OutboxWorker
from app.escalation.service import TicketService
from app.privacy.service import PrivacyService
from app.retrieval import (
    ChunkerParams,
    CrossEncoderReranker,
    Embedder,
    FusionWeights,
    HybridSearcher,
    IndexNotFound,
    IndexStore,
    ModelNotFound,
    build_index,
    load_embedder,
)
from app.retrieval.language import detect_language
from app.retrieval.profile import Expected
from app.retrieval.vectors import sentence_recipe

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    embedder: Embedder | None
    store: IndexStore
    searcher: HybridSearcher | None
    chat: ChatService
    tickets: TicketService
    faq: FaqPublisher
    outbox: OutboxWorker
    model_error: str | None = None
    privacy: PrivacyService | None = None

    def reindex(self, *, full: bool = False) -> str:
        """Incremental index build with the loaded model; the store picks the new build up."""
        if self.embedder is None:
            raise NotReady(self.model_error or "the embedding model is not loaded")
        embedder = self.embedder
        params = ChunkerParams(self.settings.chunk_size, self.settings.chunk_overlap)
        report = build_index(self.settings.corpus_dir, self.settings.index_dir, embedder.path, lambda: embedder,
                             params, full=full, profile=ranking_profile(self.settings))
        self.store.load_now()
        return report.build_id

    def doc_audience(self, doc_id: str) -> list[str] | None:
        """A document's audience in the index being served (None when it is not there or nothing is loaded)."""
        index = self.store.get()
        meta = index.documents.get(doc_id) if index is not None else None
        return list(meta.get("audience") or ["everyone"]) if meta is not None else None

    def index_status(self) -> tuple[bool, str]:
        """(ready, detail) for /readyz and the CLI."""
        if self.searcher is None:
            return False, self.model_error or "embedding model not loaded"
        try:
            index = self.searcher.index()
        except IndexNotFound as e:
            return False, str(e)
        warnings = "".join(f"; warning: {w}" for w in self.store.warnings)
        return True, f"build {index.build_id}, {len(index.chunks)} chunks{warnings}"


def ranking_profile(settings: Settings) -> dict[str, Any]:
    """What this server ranks and decides with; recorded in each build it makes (app/retrieval/profile.py)."""
    return {
        "fusion": asdict(fusion_weights(settings)), "retrieve_k": settings.retrieve_k,
        "language_debias": settings.dense_language_debias, "companion": settings.companion_model,
        "reranker": str(settings.reranker_model or ""), "calibration": asdict(Calibration()),
        "thresholds": {"answer": settings.answer_threshold, "offer_human": settings.offer_human_threshold},
    }


def fusion_weights(settings: Settings) -> FusionWeights:
    return FusionWeights(settings.sentence_weight, settings.companion_weight, settings.bm25_weight,
                         settings.bm25_cross_weight, settings.heading_weight, settings.follow_up_weight)


def _similarity(embedder: Embedder | None) -> Callable[[str, str], float] | None:
    if embedder is None:
        return None

    def cosine(a: str, b: str) -> float:
        va, vb = embedder.encode_queries([a, b])
        return float(va @ vb)
    return cosine


def llm_parts(settings: Settings, searcher: HybridSearcher | None) -> tuple[LLMComposer | None, Rewriter | None]:
    """The LLM composer and follow-up rewriter when AYUDA_LLM_BASE_URL is set; (None, None) = extractive only."""
    client = LLMClient.from_settings(settings)
    if client is None:
        return None, None
    log.info("answers are written by %s at %s (extractive floor, grounding guard)", settings.llm_model,
             settings.llm_base_url)
    composer = LLMComposer(client, ExtractiveComposer(), searcher.detect_language if searcher else detect_language,
                           settings.llm_passages, settings.llm_mask_pii)
    return composer, Rewriter(client, settings.llm_mask_pii)


def build_services(settings: Settings, *, embedder: Embedder | None = None) -> Services:
    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(settings.database_url)
    sessions = make_session_factory(engine)
    model_error = None
    if embedder is None:
        try:
            embedder = load_embedder(settings.embedding_model, threads=settings.torch_threads,
                                     companion=settings.companion_model,
                                     sentence_vectors=settings.sentence_vectors)
        except ModelNotFound as e:
            model_error = str(e)
            log.error(model_error)
    if embedder is not None:  # the first encode pays torch's warm-up; do it before the first user does
        embedder.encode_queries(["¿Cómo restablezco mi contraseña?", "How do I reset my password?"])
    expected = (Expected(embedder.model_id, embedder.companion_id, ranking_profile(settings),
                         {"sentences": sentence_recipe(embedder)}) if embedder else None)
    store = IndexStore(settings.index_dir, check_seconds=settings.index_check_seconds, expected=expected)
    searcher = None
    if embedder is not None:
        reranker = CrossEncoderReranker(settings.reranker_model) if settings.reranker_model else None
        searcher = HybridSearcher(store, embedder, reranker=reranker, retrieve_k=settings.retrieve_k,
                                  weights=fusion_weights(settings), language_debias=settings.dense_language_debias)
    tickets = TicketService(settings, sessions)
    intents = IntentClassifier.train(embedder, cache_dir=settings.cache_dir) if embedder is not None else None
    composer, rewriter = llm_parts(settings, searcher)
    chat = ChatService(settings, ConversationStore(sessions), searcher, composer=composer,
                       escalator=EscalationFlow(settings, sessions, tickets, similarity=_similarity(embedder)),
                       intents=intents, rewriter=rewriter)
    services = Services(settings, engine, sessions, embedder, store, searcher, chat, tickets,
                        None, OutboxWorker(settings, sessions), model_error)  # type: ignore[arg-type]
    services.faq = FaqPublisher(settings, sessions, tickets, services.reindex)
    services.privacy = PrivacyService(settings, sessions)
    return services

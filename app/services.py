"""The heavy objects of one running Ayuda, built once (app start-up, CLI command, eval run) and shared."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.channels.email.intake import MailIntake
from app.channels.email.poller import MailPoller
from app.channels.slack.intake import SlackChannel
from app.chat.composer import ExtractiveComposer
from app.chat.idempotency import IdempotencyKeys
from app.chat.intents import IntentClassifier
from app.chat.llm import LLMClient, LLMComposer, Rewriter
from app.chat.service import ChatService
from app.chat.store import ConversationStore
from app.config import Settings
from app.db import make_engine, make_session_factory, upgrade
from app.escalation.faq import FaqPublisher
from app.escalation.flows import EscalationFlow
from app.escalation.notify import OutboxWorker
from app.escalation.service import TicketService
from app.jobs.builds import BuildRegistry
from app.jobs.queue import QueueDispatch, ThreadDispatch
from app.jobs.reindex import BuildContext, ReindexJobs
from app.privacy.service import PrivacyService
from app.ranking import fusion_weights, ranking_profile
from app.retrieval import (
    CrossEncoderReranker,
    Embedder,
    HybridSearcher,
    IndexNotFound,
    IndexStore,
    ModelNotFound,
    embedder_for,
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
    registry: BuildRegistry
    jobs: ReindexJobs
    dispatch: QueueDispatch | ThreadDispatch
    privacy: PrivacyService
    model_error: str | None = None
    slack: SlackChannel | None = None  # the Slack app, when AYUDA_SLACK_* are set
    mail: MailPoller | None = None  # the e-mail channel, when AYUDA_MAIL_IMAP_HOST is set

    def close(self) -> None:
        self.dispatch.close()
        self.registry.leave()
        self.engine.dispose()

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
            embedder = embedder_for(settings)
        except ModelNotFound as e:
            model_error = str(e)
            log.error(model_error)
    if embedder is not None:  # the first encode pays torch's warm-up; do it before the first user does
        embedder.encode_queries(["¿Cómo restablezco mi contraseña?", "How do I reset my password?"])
    expected = (Expected(embedder.model_id, embedder.companion_id, ranking_profile(settings),
                         {"sentences": sentence_recipe(embedder)}) if embedder else None)
    registry = BuildRegistry(sessions, settings.index_dir, heartbeat_seconds=settings.index_heartbeat_seconds)
    store = IndexStore(settings.index_dir, check_seconds=settings.index_check_seconds, expected=expected,
                       pointer=registry.active, serving=registry.serving)
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
                       intents=intents, rewriter=rewriter,
                       keys=IdempotencyKeys(sessions, owner=registry.replica_id, alive=registry.alive))
    dispatch = QueueDispatch(settings) if settings.jobs == "worker" else ThreadDispatch(
        lambda: in_process_build(settings, sessions, embedder, registry, store, model_error))
    jobs = ReindexJobs(sessions, dispatch)
    slack = SlackChannel(settings, sessions, chat, tickets) if settings.slack_enabled else None
    mail = None
    if settings.mail_enabled:
        mail = MailPoller(settings, MailIntake(settings, sessions, chat, tickets))
    return Services(settings, engine, sessions, embedder, store, searcher, chat, tickets,
                    FaqPublisher(settings, sessions, tickets, jobs.start), OutboxWorker(settings, sessions), registry,
                    jobs, dispatch, PrivacyService(settings, sessions), model_error, slack, mail)


def in_process_build(settings: Settings, sessions: sessionmaker[Session], embedder: Embedder | None,
                     registry: BuildRegistry, store: IndexStore, model_error: str | None) -> BuildContext:
    """A re-index job run in this process: the new build is loaded here before the job is `done`."""
    def load(build_id: str) -> None:
        loaded = store.load_now()
        if loaded is None or loaded.build_id != build_id or store.last_error:
            raise RuntimeError(store.last_error or f"build {build_id} was written but not loaded")

    return BuildContext(settings, sessions, embedder, registry, model_error, after_build=load)

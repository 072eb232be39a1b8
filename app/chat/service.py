"""One stored chat turn: idempotency, serialization per conversation, the answer cache, the question and answer
written in one transaction, a ticket when the answer escalates. What to answer is `Responder`'s
(app/chat/responder.py): language → pre-route → contextualize → retrieve → compose → gate."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app.chat.cache import CACHEABLE, AnswerCache
from app.chat.composer import Citation, Composer, Emit
from app.chat.confidence import ESCALATED, Calibration
from app.chat.idempotency import IdempotencyKeys, request_hash
from app.chat.intents import IntentClassifier
from app.chat.llm import Rewriter
from app.chat.responder import CONFIDENTIAL_REASONS, Draft, Responder
from app.chat.store import ConversationStore
from app.chat.texts import t
from app.config import Settings
from app.errors import InvalidInput, NotReady
from app.privacy.access import reply_audiences
from app.retrieval.documents import Hit
from app.retrieval.search import HybridSearcher
from app.security import User
from app.validation import clean_text

log = logging.getLogger(__name__)


class Escalator(Protocol):
    """Turns an escalated turn into a ticket (app/escalation/flows.py implements it)."""

    def escalate(self, user: User, conversation_id: str, question: str, language: str, reason: str,
                 confidence: float, hits: list[Hit], idempotency_key: str | None = None) -> Any: ...


@dataclass
class TurnResult:
    conversation_id: str
    message_id: str
    answer: str
    language: str
    citations: list[Citation]
    confidence: float
    outcome: str
    next_steps: str | None = None
    reason: str | None = None  # low_confidence | no_results | human | sensitive | crisis | private_data | off_topic
    hits: list[Hit] = field(default_factory=list)
    ticket: dict[str, Any] | None = None
    llm: dict[str, str] = field(default_factory=dict)  # {"compose": ok | guard_* | ..., "rewrite": ok | error}
    stored: bool = True  # False: answered while the database was unreachable (nothing kept)
    replayed: bool = False  # True: a retried request (same Idempotency-Key) given the stored turn again


class ChatService(Responder):
    def __init__(self, settings: Settings, store: ConversationStore, searcher: HybridSearcher | None,
                 composer: Composer | None = None, calibration: Calibration = Calibration(),
                 escalator: Escalator | None = None, intents: IntentClassifier | None = None,
                 rewriter: Rewriter | None = None, keys: IdempotencyKeys | None = None) -> None:
        super().__init__(settings, searcher, composer, calibration, intents, rewriter)
        self.store, self.escalator = store, escalator
        self.keys = keys or IdempotencyKeys(store.sessions)
        self.cache = AnswerCache(settings.answer_cache_size)

    def turn(self, user: User, message: str, conversation_id: str | None = None,
             language: str | None = None, idempotency_key: str | None = None, emit: Emit | None = None) -> TurnResult:
        """One turn. Turns of one conversation run one after the other; with an idempotency key, a retried
        (or concurrent duplicate) request gets the first request's answer and nothing new is stored. `emit`
        receives a streaming turn's early events (the draft's citations, the LLM's tokens)."""
        message = clean_text(message)  # the same cleaning and errors as the HTTP schema (app/validation.py)
        if not message:
            raise InvalidInput("message: must not be empty")
        if len(message) > self.settings.max_message_chars:
            raise InvalidInput(f"message: is too long ({self.settings.max_message_chars} characters at most)")
        try:
            return self._stored_turn(user, message, conversation_id, language, idempotency_key, emit)
        except (OperationalError, InterfaceError) as e:  # the database is down: answer from the index alone
            return self._unstored_turn(user, message, conversation_id, language, e)

    def _stored_turn(self, user: User, message: str, conversation_id: str | None, language: str | None,
                     idempotency_key: str | None, emit: Emit | None) -> TurnResult:
        if not idempotency_key:
            return self._serialized(user, message, conversation_id, language, None, emit)
        done = self.keys.begin(user.id, idempotency_key, request_hash(message, conversation_id, language))
        if done is not None:  # a retried request: same answer, same ticket, nothing new
            reply = self.store.message(done.message_id or "")
            if reply is not None:
                return replace(self._result(done.conversation_id or reply.conversation_id, reply), replayed=True)
        try:
            result = self._serialized(user, message, conversation_id, language, idempotency_key, emit)
        except BaseException:
            self.keys.release(user.id, idempotency_key)
            raise
        return result  # the key was completed in the answer's transaction

    def _serialized(self, user: User, message: str, conversation_id: str | None, language: str | None,
                    idempotency_key: str | None, emit: Emit | None = None) -> TurnResult:
        if not conversation_id:  # a new conversation: nobody else knows its id yet
            return self._turn(user, message, None, language, idempotency_key, emit)
        with self.store.turn_lock(conversation_id):
            return self._turn(user, message, conversation_id, language, idempotency_key, emit)

    def _turn(self, user: User, message: str, conversation_id: str | None, language: str | None,
              idempotency_key: str | None, emit: Emit | None = None) -> TurnResult:
        history = self.store.history(conversation_id) if conversation_id else []
        lang = language or self._language(message, history, conversation_id)
        key = self._cache_key(user, message, lang) if not conversation_id else None
        cached = self.cache.get(key) if key is not None else None
        if cached is not None:
            return self._replay(user, message, lang, cached, idempotency_key)
        conv_id = self.store.owned(user.id, conversation_id).id if conversation_id else None
        uses_llm = self.rewriter is not None or self.composer is not self.extractive
        confidential = uses_llm and conv_id is not None and bool(  # only an LLM needs to know (one query)
            self.store.escalation_reasons(conv_id).intersection(CONFIDENTIAL_REASONS))
        query = self._contextualize(message, history)
        asked = {"role": "user", "content": message, "search_query": query, "idempotency_key": idempotency_key}
        question = None  # stored on its own before a slow (LLM) answer or a ticket; else with the answer
        if uses_llm:
            question = self.store.save_turn(user.id, conv_id, lang, [asked])
            conv_id = question.conversation_id
        rewritten, rewrite_result = self._rewrite(message, history, confidential)
        if rewritten and question is not None:  # the LLM's standalone question: what later follow-ups build on
            query = rewritten
            self.store.update_message(question.id, search_query=query)
        draft = self.respond(user, message, query, lang, emit=emit, standalone=rewritten is not None,
                             confidential=confidential)
        if rewrite_result:
            draft.retrieval["rewrite"] = {"result": rewrite_result, "query": rewritten}
        ticket = None
        if draft.outcome == ESCALATED and self.escalator is not None:
            if question is None:  # the ticket's transcript starts with the question
                question = self.store.save_turn(user.id, conv_id, lang, [asked])
                conv_id = question.conversation_id
            assert conv_id is not None
            escalated = self.escalator.escalate(user, conv_id, message, lang, draft.reason or "low_confidence",
                                                draft.confidence, draft.hits, idempotency_key)
            ticket = escalated.ticket
            draft.answer = f"{draft.answer}\n\n{escalated.message}"
            draft.next_steps = escalated.next_steps
        answer = self._answer(draft, ticket)
        reply = self.store.save_turn(user.id, conv_id, lang, [answer] if question else [asked, answer],
                                     also=self._completes(user, idempotency_key))
        log.info("turn %s outcome=%s confidence=%.2f", reply.id, draft.outcome, draft.confidence)
        if key is not None and draft.outcome in CACHEABLE and ticket is None and not draft.retrieval.get("llm"):
            self.cache.put(key, draft)
        llm = {k: v["result"] for k, v in (("compose", draft.retrieval.get("llm")),
                                           ("rewrite", draft.retrieval.get("rewrite"))) if v}
        return TurnResult(reply.conversation_id, reply.id, draft.answer, lang, draft.citations, draft.confidence,
                          draft.outcome, draft.next_steps, draft.reason, draft.hits, ticket, llm)

    def _completes(self, user: User, idempotency_key: str | None) -> Callable[[Session, Any], None] | None:
        """Completes the turn's idempotency key in the answer's own transaction."""
        if not idempotency_key:
            return None
        return lambda s, reply: self.keys.complete(user.id, idempotency_key, reply.conversation_id, reply.id, s)

    @staticmethod
    def _answer(draft: Draft, ticket: dict[str, Any] | None, **retrieval: Any) -> dict[str, Any]:
        """The assistant message stored for a draft (`retrieval`: more to record beside the draft's own)."""
        audiences = reply_audiences(draft.outcome, [c.doc_id for c in draft.citations], draft.hits)
        return {"role": "assistant", "content": draft.answer, "outcome": draft.outcome,
                "confidence": round(draft.confidence, 4), "citations": [c.__dict__ for c in draft.citations],
                "ticket_id": ticket["id"] if ticket else None,
                "retrieval": draft.retrieval | retrieval | {"reason": draft.reason, "next_steps": draft.next_steps,
                                                            "ticket": ticket, "audiences": audiences}}

    def _cache_key(self, user: User, message: str, lang: str) -> Hashable | None:
        """The answer cache's key for a first message (None: not cacheable here)."""
        if self.searcher is None or self.rewriter is not None or self.composer is not self.extractive:
            return None
        loaded = self.searcher.store.get()
        return AnswerCache.key(message, lang, user.visible_groups, loaded.build_id) if loaded is not None else None

    def _replay(self, user: User, message: str, lang: str, draft: Draft, idempotency_key: str | None) -> TurnResult:
        """A repeated first question: the cached answer, stored with its question in one transaction."""
        asked = {"role": "user", "content": message, "search_query": message, "idempotency_key": idempotency_key}
        answer = self._answer(draft, None, cached=True)
        reply = self.store.save_turn(user.id, None, lang, [asked, answer], also=self._completes(user, idempotency_key))
        return TurnResult(reply.conversation_id, reply.id, draft.answer, lang, draft.citations, draft.confidence,
                          draft.outcome, draft.next_steps, draft.reason, draft.hits, None)

    def _unstored_turn(self, user: User, message: str, conversation_id: str | None, language: str | None,
                       error: Exception) -> TurnResult:
        """With the database unreachable, a question the documents answer is still answered (not stored: no
        history, no feedback, no LLM since the conversation's lane is unknown). What needs a person raises
        NotReady (503 + Retry-After): the client retries with the same Idempotency-Key once the database is back,
        so the ticket is opened once. A crisis message gets its support lines in that error's text."""
        log.warning("database unavailable (%s): answering without storing the turn", error.__class__.__name__)
        lang = language or self._language(message, [], None)
        draft = self.respond(user, message, message, lang, confidential=True)
        if draft.outcome == ESCALATED:
            lead = f"{draft.answer}\n\n" if draft.reason == "crisis" else ""
            raise NotReady(f"{lead}{t(lang, 'not_stored')}", code="database_unavailable", retry_after=30)
        return TurnResult(conversation_id or str(uuid.uuid4()), str(uuid.uuid4()), draft.answer, lang,
                          draft.citations, draft.confidence, draft.outcome, draft.next_steps, draft.reason,
                          draft.hits, None, stored=False)

    @staticmethod
    def _result(conversation_id: str, reply: Any) -> TurnResult:
        extra = reply.retrieval or {}
        return TurnResult(conversation_id, reply.id, reply.content, reply.language,
                          [Citation(**c) for c in reply.citations or []], reply.confidence or 0.0,
                          reply.outcome or "", extra.get("next_steps"), extra.get("reason"), [], extra.get("ticket"))

"""One chat turn, end to end: language → pre-route → contextualize → retrieve → compose → gate → persist."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app.chat.cache import CACHEABLE, AnswerCache
from app.chat.composer import Citation, Composer, Emit, ExtractiveComposer, suggest
from app.chat.confidence import ESCALATED, OFFER_HUMAN, Calibration, confidence, gate, signals
from app.chat.idempotency import IdempotencyKeys, request_hash
from app.chat.intents import SAFETY, IntentClassifier, IntentResult
from app.chat.llm import Rewriter
from app.chat.routing import backstop, is_follow_up, policy_query, smalltalk_kind
from app.chat.store import ConversationStore
from app.chat.texts import t
from app.config import Settings
from app.errors import InvalidInput, NotReady
from app.privacy.access import reply_audiences
from app.retrieval.documents import Hit
from app.retrieval.index import IndexNotFound
from app.retrieval.language import LANGUAGES, detect_language
from app.retrieval.search import HybridSearcher
from app.retrieval.text import tokenize
from app.security import User
from app.validation import clean_text

log = logging.getLogger(__name__)
CLARIFY, SMALLTALK, NOT_READY = "clarify", "smalltalk", "not_ready"
DECLINED, OFF_TOPIC = "declined", "off_topic"  # neither deflections nor escalations: no ticket
CONFIDENTIAL_REASONS = ("sensitive", "crisis")  # the confidential lane: never sent to an LLM


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


@dataclass
class Draft:
    answer: str
    outcome: str
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    next_steps: str | None = None
    reason: str | None = None
    hits: list[Hit] = field(default_factory=list)
    retrieval: dict[str, Any] = field(default_factory=dict)


class ChatService:
    def __init__(self, settings: Settings, store: ConversationStore, searcher: HybridSearcher | None,
                 composer: Composer | None = None, calibration: Calibration = Calibration(),
                 escalator: Escalator | None = None, intents: IntentClassifier | None = None,
                 rewriter: Rewriter | None = None, keys: IdempotencyKeys | None = None) -> None:
        self.settings, self.store, self.searcher = settings, store, searcher
        self.intents = intents
        self.escalator = escalator
        self.extractive = ExtractiveComposer()
        self.composer = composer or self.extractive
        self.rewriter = rewriter
        self.calibration = calibration
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
                return self._result(done.conversation_id or reply.conversation_id, reply)
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

    def understand(self, message: str, query: str | None = None, vector: np.ndarray | None = None) -> IntentResult:
        """The message's intent: the classifier (on the contextualized question for a follow-up), then the
        keyword backstop, which can add a safety intent and never remove one. `vector`: the e5 vector of the
        text classified, when the caller already has it."""
        if self.intents is not None:
            result = self.intents.classify(query or message, vector)
        else:  # no model loaded: only the rules can tell
            result = IntentResult("smalltalk" if smalltalk_kind(message) != "about" else "question", 0.0)
        safety = backstop(message)
        if safety and SAFETY.index(safety) < (SAFETY.index(result.intent) if result.intent in SAFETY else 99):
            result = IntentResult(safety, result.probabilities.get(safety, 0.0), result.probabilities, safety)
        return result

    def respond(self, user: User, message: str, query: str, lang: str, emit: Emit | None = None,
                standalone: bool = False, confidential: bool = False) -> Draft:
        """The answer to one message, without persistence (also used by the eval runner). `standalone`: `query`
        is the LLM's rewrite of a follow-up, not the rule's join; `confidential`: the conversation is in the
        confidential lane, so the LLM is not used."""
        follow_up = message if query != message and not standalone else None
        vectors = self._query_vectors(query, follow_up)  # encoded once for the classifier and the search
        intent = self.understand(message, query if query != message else None,
                                 None if vectors is None else vectors[0])
        info = {"intent": intent.as_dict()}
        if intent.intent == "smalltalk" and smalltalk_kind(message) != "about":  # hello, thanks, bye
            return Draft(t(lang, smalltalk_kind(message)), SMALLTALK, 1.0, retrieval=info)
        if intent.intent == "crisis":  # at once, kindly, with support lines; an urgent confidential ticket
            resources = self.settings.support_resources.get(lang) or t(lang, "crisis_resources")
            return Draft(f"{t(lang, 'crisis')}\n\n{resources}\n\n{t(lang, 'crisis_next')}", ESCALATED, 1.0, [],
                         t(lang, "escalate_next"), "crisis", [], info)
        if self.searcher is None:
            return Draft(t(lang, "not_ready"), NOT_READY, 0.0, reason="not_ready", retrieval=info)
        search_text = f"{query} {policy_query(message)}" if intent.intent == "sensitive" else query
        try:
            result = self.searcher.search(search_text, language=lang, groups=user.visible_groups, k=8,
                                          follow_up=follow_up, vectors=vectors if search_text == query else None)
        except IndexNotFound:
            return Draft(t(lang, "not_ready"), NOT_READY, 0.0, reason="not_ready", retrieval=info)
        hits = result.hits
        sig = signals(query, lang, hits, result.idf)
        score = confidence(sig, self.calibration)
        retrieval = info | {
            "build_id": result.build_id, "signals": sig.as_dict(),
            "hits": [{"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "section": h.chunk.section,
                      "score": round(h.score, 5), "dense": round(h.dense or 0, 4), "bm25": round(h.bm25 or 0, 3),
                      "audience": h.chunk.audience}
                     for h in hits],
        }
        intent = weigh_domain(intent, score, self.settings)
        retrieval["intent"] = intent.as_dict()
        if intent.intent == "smalltalk":
            return Draft(t(lang, "about"), SMALLTALK, 1.0, retrieval=retrieval)
        if intent.intent == "private_data":
            return Draft(t(lang, "declined_private"), DECLINED, 1.0, reason="private_data", retrieval=retrieval)
        if intent.intent == "off_topic":
            return Draft(t(lang, "off_topic"), OFF_TOPIC, 0.0, reason="off_topic", retrieval=retrieval)
        if intent.intent == "sensitive":
            composed = self.extractive.compose(query, lang, hits[:1]) \
                if score >= self.settings.offer_human_threshold else None
            answer = t(lang, "sensitive")
            cites: list[Citation] = []
            if composed and composed.citations:
                body = composed.answer.split("\n\n", 1)[-1]
                answer += "\n\n" + t(lang, "sensitive_policy") + "\n\n" + body
                cites = composed.citations
            return Draft(answer, ESCALATED, score, cites, t(lang, "escalate_next"), "sensitive", hits, retrieval)
        if intent.intent == "human_request":
            return Draft(t(lang, "human_requested"), ESCALATED, score, [], t(lang, "escalate_next"), "human", hits,
                         retrieval)
        if not hits:
            answer = not_found(lang, t(lang, "reason_no_results"))
            return Draft(answer, ESCALATED, 0.0, [], t(lang, "escalate_next"), "no_results", hits, retrieval)
        outcome = gate(score, self.settings.answer_threshold, self.settings.offer_human_threshold)
        options = self._clarify_options(query, lang, hits)
        if options and (outcome == ESCALATED or len(tokenize(query, lang)) <= 1):
            answer = "\n".join([t(lang, "clarify"), *[f"- {o}" for o in options], t(lang, "clarify_hint")])
            return Draft(answer, CLARIFY, score, [], None, "ambiguous", hits, retrieval)
        if outcome == ESCALATED:
            answer = not_found(lang, t(lang, "reason_low_confidence", confidence=score))
            return Draft(answer, ESCALATED, score, [], t(lang, "escalate_next"), "low_confidence", hits, retrieval)
        if outcome == OFFER_HUMAN:  # not sure: point to the closest pages, don't quote them as the answer
            suggested = suggest(lang, hits)
            return Draft(suggested.answer + "\n\n" + t(lang, "offer_human"), outcome, score, suggested.citations,
                         None, None, hits, retrieval)
        composer = self.extractive if confidential else self.composer
        composed = composer.compose(query, lang, hits, emit)
        if composed.llm is not None:
            retrieval["llm"] = composed.llm
            if composed.llm["result"] == "not_found":  # the model read the passages: they don't answer
                return Draft(not_found(lang, t(lang, "reason_not_answered")), ESCALATED, score, [],
                             t(lang, "escalate_next"), "low_confidence", hits, retrieval)
        return Draft(composed.answer, outcome, score, composed.citations, None, None, hits, retrieval)

    def _query_vectors(self, query: str, follow_up: str | None) -> np.ndarray | None:
        """e5 vectors of the question (and the follow-up alone), when the classifier and the search share the
        model: one encode per turn instead of two."""
        if self.searcher is None or self.intents is None:
            return None
        if getattr(self.intents.embedder, "model_id", None) != self.searcher.embedder.model_id:
            return None
        return self.searcher.embedder.encode_queries([query, follow_up] if follow_up else [query])

    def _rewrite(self, message: str, history: list[Any], confidential: bool) -> tuple[str | None, str | None]:
        """(standalone question, "ok") from the LLM for a message that follows earlier turns; (None, why) when it
        is not asked (no LLM, first message, small talk, the confidential lane, a safety or private-data
        message) or fails, and the rule of `_contextualize` decides."""
        if self.rewriter is None or not self.settings.llm_rewrite_follow_ups \
                or not any(m.role == "user" for m in history):
            return None, None
        if confidential or smalltalk_kind(message) != "about" or backstop(message):
            return None, "skipped"
        if self.understand(message).intent in (*SAFETY, "private_data"):  # never sent to the LLM
            return None, "skipped"
        turns = [(m.role, m.content) for m in history if m.role in ("user", "assistant") and m.content]
        rewritten = self.rewriter.rewrite(turns, message)
        return (rewritten, "ok") if rewritten else (None, "error")

    def _language(self, message: str, history: list[Any], conversation_id: str | None) -> str:
        lang, prob = self.searcher.detect_language(message) if self.searcher is not None else detect_language(message)
        previous = next((m.language for m in reversed(history)), None)
        if previous and (prob < 0.8 or len(message.split()) <= 2):
            return previous
        return lang if lang in LANGUAGES else "en"

    @staticmethod
    def _contextualize(message: str, history: list[Any]) -> str:
        last = next((m for m in reversed(history) if m.role == "user" and m.search_query), None)
        if last is None or smalltalk_kind(message) != "about" or backstop(message) or not is_follow_up(message):
            return message
        return f"{last.search_query} {message}"

    @staticmethod
    def _clarify_options(query: str, lang: str, hits: list[Hit]) -> list[str]:
        """Titles to choose from when a very short question matches several documents about equally."""
        if len(tokenize(query, lang)) > 2 or len(re.findall(r"\w+", query)) > 4:
            return []
        titles: list[str] = []
        top = hits[0].dense or 0.0
        for h in hits[:6]:
            if (h.dense or 0.0) >= top - 0.03 and h.chunk.title not in titles:
                titles.append(h.chunk.title)
        return titles[:4] if len(titles) >= 3 else []


def not_found(lang: str, reason: str) -> str:
    return t(lang, "not_found") + " " + t(lang, "not_found_reason", reason=reason)


def weigh_domain(intent: IntentResult, score: float, s: Settings) -> IntentResult:
    """The documents know what is in-domain: a terse question the classifier took for small talk or off-topic
    ("vpn not working", "holerite online?") is a question when the documents answer it well. Someone else's
    private data needs stronger evidence, and the classifier's doubt too. The other way round, a "question" the
    classifier also finds off-topic-looking that the documents don't match at all is off-topic: no ticket, and
    the reply offers a person with one click."""
    p_question = intent.probabilities.get("question", 0.0)
    if (intent.intent in ("smalltalk", "off_topic") and score >= s.in_domain_confidence) or (
            intent.intent == "private_data" and score >= s.private_in_domain_confidence
            and p_question >= s.private_in_domain_question_share * intent.probability):
        return IntentResult("question", p_question, intent.probabilities, intent.backstop, overridden=True)
    p_off = intent.probabilities.get("off_topic", 0.0)
    if intent.intent == "question" and score < s.offer_human_threshold \
            and p_off >= s.out_of_domain_off_topic_share:
        return IntentResult("off_topic", p_off, intent.probabilities, intent.backstop, overridden=True)
    return intent

"""What Ayuda answers to one message, without storing anything: understand it (intent, safety lane), search,
compose, gate on confidence. `ChatService` (app/chat/service.py) wraps it in a stored, serialized turn; the eval
runner calls it directly."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.chat.composer import Citation, Composer, Emit, ExtractiveComposer, suggest
from app.chat.confidence import ESCALATED, OFFER_HUMAN, Calibration, confidence, gate, signals
from app.chat.focus import question_focus, sentence_texts, statements
from app.chat.intents import SAFETY, IntentClassifier, IntentResult
from app.chat.llm import Rewriter
from app.chat.pleasantries import without_small_talk
from app.chat.references import without_references
from app.chat.routing import backstop, is_follow_up, policy_query, smalltalk_kind
from app.chat.texts import t
from app.config import Settings
from app.retrieval.documents import Hit
from app.retrieval.index import IndexNotFound
from app.retrieval.language import LANGUAGES, detect_language
from app.retrieval.search import HybridSearcher
from app.retrieval.text import tokenize
from app.security import User

log = logging.getLogger(__name__)
CLARIFY, SMALLTALK, NOT_READY = "clarify", "smalltalk", "not_ready"
DECLINED, OFF_TOPIC = "declined", "off_topic"  # neither deflections nor escalations: no ticket
CONFIDENTIAL_REASONS = ("sensitive", "crisis")  # the confidential lane: never sent to an LLM
FOCUSED = ("question", "off_topic", "smalltalk")  # intents whose search may fall back on single sentences


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


class Responder:
    """The answering ladder: pre-route (small talk, crisis, private data, off-topic), retrieve, compose, gate."""

    def __init__(self, settings: Settings, searcher: HybridSearcher | None, composer: Composer | None = None,
                 calibration: Calibration = Calibration(), intents: IntentClassifier | None = None,
                 rewriter: Rewriter | None = None) -> None:
        self.settings, self.searcher, self.intents = settings, searcher, intents
        self.extractive = ExtractiveComposer()
        self.composer = composer or self.extractive
        self.rewriter = rewriter
        self.calibration = calibration

    def understand(self, message: str, query: str | None = None, vector: np.ndarray | None = None,
                   focus: str | None = None, focus_vector: np.ndarray | None = None) -> IntentResult:
        """The message's intent: the classifier (on the contextualized question for a follow-up), then the
        keyword backstop, which can add a safety intent and never remove one. `vector`: the e5 vector of the
        text classified, when the caller already has it. `focus`: the message's questions, when it has other
        sentences too (app/chat/focus.py): a message read as a question whose questions alone ask for someone's
        data or belong in the confidential lane takes their intent ("What is the CEO's salary? Sorry if this was
        asked before.")."""
        if self.intents is not None:
            result = self.intents.classify(query or message, vector)
            if result.intent == "private_data":
                result = self._private_in_a_sentence(message, result)
            elif result.intent == "question" and focus:
                alone = self.intents.classify(focus, focus_vector)
                result = alone if alone.intent in (*SAFETY, "private_data") else result
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
        core = self._core(message)  # "Hi team! … (ref 4521) Thanks, Tom": classified and searched without it
        query = core if query == message else query  # a follow-up's join is made of the core already
        message = core
        focus = question_focus(message)  # "URGENT: …?", "… ? I need it by Friday."
        follow_up = None
        if query != message:  # a follow-up joined to the last question (it votes again alone), or the LLM's rewrite
            follow_up = None if standalone else focus if focus and query.endswith(focus) else message
            focus = None
        second = follow_up or focus
        texts = [query, second] if second else [query]
        companion = getattr(self.searcher.embedder, "companion", None) if self.searcher is not None else None
        if companion is not None:  # its vectors (classifier, search) are computed while e5 encodes
            companion.start_queries(texts)
        vectors = self._query_vectors(texts)  # encoded once for the classifier and the search
        intent = self.understand(message, query if query != message else None,
                                 None if vectors is None else vectors[0], focus,
                                 None if vectors is None or focus is None else vectors[1])
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
        sig = signals(query, lang, result.hits, result.idf)
        score = confidence(sig, self.calibration)
        parts: list[str] = []  # searched alone when the whole message is not answered
        if intent.intent in FOCUSED and search_text == query and score < self.settings.answer_threshold:
            parts = [focus] if focus else statements(message) if query == message else []
        if parts:
            if len(parts) > 1:
                self.searcher.embedder.encode_queries(parts)  # in one call; each search below finds its vector
            tried = []
            for part in parts:
                found = self.searcher.search(part, language=lang, groups=user.visible_groups, k=8)
                part_sig = signals(part, lang, found.hits, found.idf)
                tried.append((confidence(part_sig, self.calibration), part, found, part_sig))
            part_score, part, found, part_sig = max(tried, key=lambda x: x[0])
            used = part_score >= self.settings.answer_threshold  # kept when it lets the documents answer
            info["focus"] = {"text": part, "confidence": round(part_score, 4), "used": used}
            if used:
                query, result, sig, score = part, found, part_sig, part_score
        hits = result.hits
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

    def _private_in_a_sentence(self, message: str, whole: IntentResult) -> IntentResult:
        """`whole` (private_data) unless the message's questions, read alone, ask about something (the intent
        `question`) and none asks for a person's data: then the whole message's next intent. "Sofia from HR said
        you could help. How do I reset my password?" names a person and asks a question, but its question asks for
        nobody's data; "Carlos got a bonus. How much was it?" stays private (its question, alone, is no question
        about anything). Measured in eval/README.md, "Named people record"."""
        assert self.intents is not None
        spans = sentence_texts(message)
        asked = [s for s in spans if s.endswith("?")]
        if len(spans) < 2 or not asked:
            return whole
        alone = [r.intent for r in self.intents.classify_many(asked)]
        if "private_data" in alone or "question" not in alone:
            return whole
        rest = self.intents.decide(np.array([0.0 if label == "private_data" else whole.probabilities.get(label, 0.0)
                                             for label in self.intents.labels]))
        return IntentResult(rest.intent, rest.probability, whole.probabilities)

    def _core(self, message: str) -> str:
        """The message without reference numbers the documents never use (app/chat/references.py), then without
        small talk at its ends (app/chat/pleasantries.py); small talk stays when the safety words flag the message,
        or with no classifier loaded."""
        if self.searcher is not None:
            message = without_references(message, self.searcher.uses)
        if self.intents is None or backstop(message):
            return message
        intents = self.intents
        return without_small_talk(message, lambda texts: [r.probabilities.get("smalltalk", 0.0)
                                                          for r in intents.classify_many(texts)])

    def _query_vectors(self, texts: list[str]) -> np.ndarray | None:
        """e5 vectors of the question and the follow-up or the question focus alone, when the classifier and the
        search share the model: one encode per turn instead of several."""
        if self.searcher is None or self.intents is None:
            return None
        if getattr(self.intents.embedder, "model_id", None) != self.searcher.embedder.model_id:
            return None
        return self.searcher.embedder.encode_queries(texts)

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

    def _contextualize(self, message: str, history: list[Any]) -> str:
        """What to search for `message`: its core (without reference numbers and small talk at its ends), after
        the conversation's last question when it follows up on it ("and in São Paulo?")."""
        message = self._core(message)
        last = next((m for m in reversed(history) if m.role == "user" and m.search_query), None)
        if last is None or smalltalk_kind(message) != "about" or backstop(message):
            return message
        if is_follow_up(message):
            return f"{last.search_query} {message}"
        focus = question_focus(message)  # "My manager told me to ask here. And in São Paulo?"
        return f"{last.search_query} {focus}" if focus and is_follow_up(focus) else message

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

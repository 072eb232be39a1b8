"""The classifier's intent weighed against how well the documents match (app/chat/responder.py:weigh_domain)."""

from app.chat.intents import IntentResult
from app.chat.responder import weigh_domain
from app.config import Settings

S = Settings(database_url="sqlite://")


def result(intent: str, **p: float) -> IntentResult:
    return IntentResult(intent, p[intent], p)


def test_a_terse_question_taken_for_off_topic_is_a_question_when_the_documents_answer_it():
    out = weigh_domain(result("off_topic", off_topic=0.6, question=0.4), S.in_domain_confidence + 0.05, S)
    assert out.intent == "question" and out.overridden


def test_a_question_that_also_looks_off_topic_and_matches_nothing_is_off_topic():
    out = weigh_domain(result("question", question=0.52, off_topic=0.47), S.offer_human_threshold - 0.05, S)
    assert out.intent == "off_topic" and out.overridden


def test_an_unanswered_in_domain_question_stays_a_question_and_gets_its_ticket():
    """Parking, company car: in-domain, not in the documents. Little off-topic probability: still a question."""
    out = weigh_domain(result("question", question=0.8, off_topic=0.15), S.offer_human_threshold - 0.1, S)
    assert out.intent == "question" and not out.overridden


def test_a_question_the_documents_match_is_never_turned_off_topic():
    out = weigh_domain(result("question", question=0.5, off_topic=0.49), S.offer_human_threshold + 0.01, S)
    assert out.intent == "question"


def test_a_safety_intent_is_never_weighed_away():
    out = weigh_domain(result("sensitive", sensitive=0.5, off_topic=0.45), 0.1, S)
    assert out.intent == "sensitive"

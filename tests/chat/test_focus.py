"""A message's questions are searched alone beside the whole message: sentences around a question that say
nothing about it ("My manager told me to ask here.", "I need it before my flight.") no longer pull the search
away, and context that carries the question's meaning still counts."""

from __future__ import annotations

import pytest

from app.chat.focus import question_focus, statements
from app.security import User

EMPLOYEE = User("rui@brightwave.example")


@pytest.mark.parametrize("message, focus", [
    ("URGENT: How do I reset my password?", "How do I reset my password?"),
    ("My manager told me to ask here. Is it paid? How many weeks?", "Is it paid? How many weeks?"),
    ("¿Cuándo cobramos? Lo pregunto por el alquiler.", "¿Cuándo cobramos?"),
    ("How do I reset my password?", None),  # one sentence: nothing else to leave out
    ("Is it paid? How many weeks?", None),  # questions only
    ("vpn down. client call in 20 min", None),  # no question mark: nothing says which sentence asks
])
def test_the_focus_is_the_questions_of_a_message_that_has_other_sentences(message, focus):
    assert question_focus(message) == focus


def respond(chat, message):  # type: ignore[no-untyped-def]
    lang = chat._language(message, [], None)
    return chat.respond(EMPLOYEE, message, chat._contextualize(message, []), lang)


@pytest.mark.integration
@pytest.mark.parametrize("message, doc", [
    ("My team lead told me to check with you first. Does Brightwave pay anything towards a gym membership?",
     "hr/benefits.md"),
    ("Mi coordinadora me pidió que lo consultara aquí. ¿Con cuánta antelación tengo que pedir una semana de "
     "vacaciones?", "hr/annual-leave.es.md"),
    ("OJO, IMPORTANTE: la vpn no va", "it/vpn-oficina-madrid.es.md"),  # no question mark: each sentence alone
    ("Pra ontem, gente: esqueci a senha", "it/password-reset.pt.md"),
])
def test_a_question_behind_a_sentence_that_says_nothing_about_it_is_answered(chat, message, doc):
    draft = respond(chat, message)
    assert draft.retrieval["focus"]["used"]  # as written, the documents matched it too weakly to answer
    assert draft.outcome == "answered" and draft.citations[0].doc_id == doc


@pytest.mark.integration
def test_context_that_carries_the_meaning_is_kept(chat):
    draft = respond(chat, "I spilled coffee on my laptop. What should I do?")  # "What should I do?" alone: nothing
    assert "focus" not in draft.retrieval  # answered as written: the questions alone are not even searched
    assert draft.outcome == "answered" and draft.citations[0].doc_id == "it/laptop-damage.md"


@pytest.mark.integration
@pytest.mark.parametrize("message", [
    "What is the CEO's salary? Sorry for asking here, no idea where else to look.",
    "¿Qué enfermedad tiene Marta, la de contabilidad? Perdona por preguntar por aquí, no sabía dónde.",
])
def test_a_request_for_someones_data_behind_an_apology_is_declined(chat, message):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "declined" and result.reason == "private_data"


@pytest.mark.integration
def test_a_follow_up_behind_a_sentence_that_says_nothing_about_it_follows_the_conversation(chat):
    first = chat.turn(EMPLOYEE, "How many days of annual leave do I get?")
    result = chat.turn(EMPLOYEE, "My manager asked me to double-check. And in São Paulo?",
                       conversation_id=first.conversation_id)
    assert result.outcome == "answered" and result.citations[0].doc_id == "hr/annual-leave.md"


@pytest.mark.parametrize("message, parts", [
    ("URGENT: la vpn no va", ["URGENT:", "la vpn no va"]),
    ("vpn down. client call in 20 min", ["vpn down.", "client call in 20 min"]),
    ("URGENT: How do I reset my password?", []),  # it has a question: its focus is searched instead
    ("la vpn no va", []),  # one sentence
    ("One. Two. Three. Four.", []),  # longer: searched whole only
])
def test_the_statements_of_a_short_message_without_a_question_mark_are_each_searched_alone(message, parts):
    assert statements(message) == parts

"""Small talk at a message's ends ("Hi team! … Thanks, Maria") is left out of what is classified and searched."""

from __future__ import annotations

import pytest

from app.chat.pleasantries import sentences, without_small_talk
from app.security import User

SURE_SMALL_TALK = {"Hi!": 0.99, "Quick question:": 0.92, "Thanks a lot, Maria": 0.96, "Thanks!": 0.99,
                   "What should I do?": 0.46}


def small_talk(texts: list[str]) -> list[float]:
    return [SURE_SMALL_TALK.get(t, 0.01) for t in texts]


def test_openings_and_closings_the_classifier_is_sure_of_are_left_out():
    message = "Hi! Quick question: How much is my learning budget? Thanks a lot, Maria"
    assert [message[a:b] for a, b in sentences(message)] == [
        "Hi!", "Quick question:", "How much is my learning budget?", "Thanks a lot, Maria"]
    assert without_small_talk(message, small_talk) == "How much is my learning budget?"
    assert without_small_talk("Hi!\nCan I work from Lisbon for a month?\n\nThanks!", small_talk) == \
        "Can I work from Lisbon for a month?"


def test_a_message_stays_whole_when_nothing_else_would_remain_or_the_classifier_is_not_sure():
    assert without_small_talk("Hi! Thanks!", small_talk) == "Hi! Thanks!"  # small talk only: answered as such
    assert without_small_talk("How do I reset my password?", small_talk) == "How do I reset my password?"
    spilled = "I just spilled coffee on my laptop. What should I do?"  # 0.46: part of the question
    assert without_small_talk(spilled, small_talk) == spilled
    asked: list[str] = []
    without_small_talk("How do I reset my password? (ref 4521)", lambda t: asked.extend(t) or [0.0] * len(t))
    assert asked == []  # a question or a number is not small talk: nothing to classify
    long = "Hi! " + "word " * 20 + "end."  # only short sentences at the ends are looked at
    assert without_small_talk("Hello there my friend, this is a long opening line. Where is it?",
                              small_talk) == "Hello there my friend, this is a long opening line. Where is it?"
    assert without_small_talk(long, small_talk) == "word " * 19 + "word end."


EMPLOYEE = User("ana@brightwave.example")


@pytest.mark.integration
@pytest.mark.parametrize("message, doc", [
    ("Hi! Quick question: How much is my personal learning budget each year? Thanks a lot, Maria",
     "hr/training-budget.md"),
    ("¡Hola! ¿Cómo restablezco mi contraseña? Muchas gracias, María", "it/password-reset.es.md"),
    ("Oi, tudo bem?\nPosso ver meus contracheques online?\nObrigada, Maria", "payroll/payslips.pt.md"),
])
def test_a_question_wrapped_in_greetings_is_answered_like_the_bare_question(chat, message, doc):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "answered" and result.citations[0].doc_id == doc  # not declined as a named person's data
    assert chat.store.history(result.conversation_id)[0].content == message  # stored as the employee wrote it


@pytest.mark.integration
def test_small_talk_alone_is_still_small_talk_and_a_crisis_is_never_cut(chat):
    assert chat.turn(EMPLOYEE, "Hi! Thanks!").outcome == "smalltalk"
    crisis = chat.turn(EMPLOYEE, "Hi. I don't want to live anymore. Thanks.")
    assert crisis.outcome == "escalated" and crisis.reason == "crisis"

import pytest

from app.chat.routing import backstop, is_follow_up, policy_query, smalltalk_kind
from app.chat.texts import TEXTS


@pytest.mark.parametrize("message,kind", [
    ("Hello!", "greeting"), ("hola", "greeting"), ("Olá", "greeting"), ("Thanks!", "thanks"),
    ("muchas gracias", "thanks"), ("obrigada", "thanks"), ("bye", "goodbye"), ("are you a bot?", "about"),
])
def test_smalltalk_reply_kind(message, kind):
    assert smalltalk_kind(message) == kind


@pytest.mark.parametrize("message,safety", [
    ("I keep thinking about killing myself", "crisis"), ("quiero quitarme la vida", "crisis"),
    ("tô pensando em suicídio", "crisis"), ("my coworker threatened to kill me in the car park", "crisis"),
    ("My manager keeps touching me inappropriately", "sensitive"), ("Mi compañero me acosa", "sensitive"),
    ("I'm paid less than my male colleagues", "sensitive"),
    # ordinary questions with a scary word: the backstop stays out of it (the classifier decides)
    ("kill the process that froze my laptop", None), ("When is the harassment training?", None),
    ("Si me toca trabajar un festivo, ¿me dan otro día libre?", None), ("this deadline is killing me", None),
    ("what's the sick leave policy?", None),
])
def test_backstop_adds_only_certain_safety_intents(message, safety):
    assert backstop(message) == safety


def test_policy_query_points_to_the_relevant_policy():
    assert "harassment" in policy_query("Un compañero hace comentarios sobre mi cuerpo")
    assert "health" in policy_query("I've been struggling with anxiety")


@pytest.mark.parametrize("message,expected", [
    ("and for part-time staff?", True), ("¿y para los de media jornada?", True), ("e para estagiários?", True),
    ("How many days of annual leave do I get?", False),
])
def test_follow_up_detection(message, expected):
    assert is_follow_up(message) is expected


def test_every_interface_text_exists_in_every_language():
    keys = set(TEXTS["en"])
    for language in ("es", "pt"):
        assert set(TEXTS[language]) == keys, language


@pytest.mark.parametrize("message", [
    "to me machucando de proposito de novo, me corto quando a ansiedade aperta",
    "I keep hurting myself on purpose when work gets too much",
    "me corto cuando estoy ansiosa",
])
def test_backstop_hears_self_harm_without_the_word_suicide(message):
    assert backstop(message) == "crisis"


@pytest.mark.parametrize("message", [
    "me corté con un cúter cuando abría una caja, ¿dónde está el botiquín?",
    "me machuquei jogando futebol, posso pegar atestado?",
])
def test_backstop_leaves_an_ordinary_injury_to_the_classifier(message):
    assert backstop(message) is None

import pytest

from app.chat.routing import is_follow_up, route
from app.chat.texts import TEXTS


@pytest.mark.parametrize("message,kind", [
    ("Hello!", "smalltalk"), ("hola", "smalltalk"), ("Olá", "smalltalk"), ("Thanks!", "smalltalk"),
    ("muchas gracias", "smalltalk"), ("obrigada", "smalltalk"),
    ("I want to talk to someone", "human"), ("quiero hablar con una persona", "human"),
    ("quero falar com um atendente", "human"),
    ("My manager keeps harassing me", "sensitive"), ("Mi compañero me acosa", "sensitive"),
    ("Estou sofrendo assédio no trabalho", "sensitive"),
    ("Un compañero hace comentarios sobre mi cuerpo", "sensitive"), ("Me passa pra alguém do RH", "human"),
    ("Pásame con alguien de nóminas", "human"), ("How do I pass the probation?", "question"),
    ("Si me toca trabajar un festivo, ¿me dan otro día libre?", "question"),
    ("How do I reset my password?", "question"), ("¿Puedo ver mis nóminas en línea?", "question"),
])
def test_pre_routing(message, kind):
    assert route(message).kind == kind


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

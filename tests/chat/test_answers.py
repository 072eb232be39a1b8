"""The core questions, in three languages, against the sample corpus indexed with the real model."""

import re

import pytest

from app.security import User

pytestmark = pytest.mark.integration

EMPLOYEE = User("ana@brightwave.example")

# question -> (document family, language of the version that must be cited)
CORE = [
    ("How do I reset my password?", "it/password-reset", "en"),
    ("¿Cómo restablezco mi contraseña?", "it/password-reset", "es"),
    ("Como faço para redefinir minha senha?", "it/password-reset", "pt"),
    ("Can I see my payslips online?", "payroll/payslips", "en"),
    ("¿Puedo ver mis nóminas en línea?", "payroll/payslips", "es"),
    ("Posso ver meus contracheques online?", "payroll/payslips", "pt"),
    ("Is the day after Christmas a holiday?", "hr/holidays-2026", "en"),
    ("¿Es festivo el día después de Navidad?", "hr/holidays-2026", "es"),
    ("O dia seguinte ao Natal é feriado?", "hr/holidays-2026", "pt"),
    ("What do I do if I spill coffee on my laptop?", "it/laptop-damage", "en"),
    ("¿Qué hago si derramo café sobre mi portátil?", "it/laptop-damage", "es"),
    ("O que faço se derramar café no meu notebook?", "it/laptop-damage", "pt"),
]


def version(family: str, language: str) -> str:
    return f"{family}.md" if language == "en" else f"{family}.{language}.md"


@pytest.mark.parametrize("question,family,language", CORE)
def test_core_questions_cite_the_right_document_in_the_askers_language(chat, question, family, language):
    result = chat.turn(EMPLOYEE, question)
    assert result.language == language
    assert result.outcome == "answered", (result.outcome, result.confidence, result.answer)
    assert result.citations[0].doc_id == version(family, language), [c.doc_id for c in result.citations]
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", result.answer)})
    assert markers == [c.n for c in result.citations]


def test_holiday_answer_contains_the_fact(chat):
    result = chat.turn(EMPLOYEE, "Is the day after Christmas a holiday?")
    assert "26" in result.answer


@pytest.mark.parametrize("question", [
    "What is on the cafeteria menu on Mars?",
    "¿Qué hay en el menú de la cafetería en Marte?",
    "Qual é o cardápio do refeitório em Marte?",
    "Can I bring my dog to the office?",
    "How many stock options do I get?",
])
def test_questions_the_corpus_cannot_answer_are_not_answered_confidently(chat, question):
    result = chat.turn(EMPLOYEE, question)
    # a joke question ("… on Mars") may also be judged off-topic: no answer, no ticket
    assert result.outcome in {"escalated", "clarify", "off_topic"}, (result.confidence, result.answer)
    assert result.confidence < 0.6 and result.citations == []


def test_follow_up_uses_the_previous_question(chat):
    first = chat.turn(EMPLOYEE, "How many days of annual leave do I get?")
    assert first.citations and first.citations[0].doc_id == "hr/annual-leave.md"
    follow = chat.turn(EMPLOYEE, "and for part-time staff?", first.conversation_id)
    assert follow.outcome in {"answered", "answered_offer_human"}
    assert follow.citations[0].doc_id == "hr/annual-leave.md"
    assert re.search(r"pro[ -]rata", follow.answer, re.I)


def test_a_follow_up_picks_its_own_section_within_the_topic(chat):
    first = chat.turn(EMPLOYEE, "Quanto recebo de vale-refeição por dia?")
    assert first.citations and first.citations[0].doc_id == "hr/vale-refeicao-brasil.pt.md"
    follow = chat.turn(EMPLOYEE, "e quando o valor é creditado?", first.conversation_id)
    assert follow.citations[0].doc_id == "hr/vale-refeicao-brasil.pt.md"
    assert follow.citations[0].section == "Quando o crédito é feito?"
    first = chat.turn(EMPLOYEE, "What do I do if I spill coffee on my laptop?")
    follow = chat.turn(EMPLOYEE, "and who pays for the repair?", first.conversation_id)
    assert (follow.citations[0].doc_id, follow.citations[0].section) == ("it/laptop-damage.md", "Who pays for the repair?")


@pytest.mark.parametrize("message,language", [("Hello!", "en"), ("¡Hola!", "es"), ("Obrigada!", "pt")])
def test_small_talk_gets_a_short_reply_without_search(chat, message, language):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "smalltalk" and result.language == language and result.citations == []
    assert result.hits == []


def test_documents_for_other_groups_never_reach_an_employee(chat):
    result = chat.turn(EMPLOYEE, "What is the runbook procedure to unlock an account in Active Directory?")
    cited = {c.doc_id for c in result.citations}
    assert "it/admin-runbook-account-unlock.md" not in cited
    assert all(h.chunk.doc_id != "it/admin-runbook-account-unlock.md" for h in result.hits)
    agent = chat.turn(User("sam@brightwave.example", frozenset({"it-staff"})),
                      "What is the runbook procedure to unlock an account in Active Directory?")
    assert agent.citations and agent.citations[0].doc_id == "it/admin-runbook-account-unlock.md"


def test_sensitive_message_is_escalated_kindly_with_the_policy(chat):
    result = chat.turn(EMPLOYEE, "Mi jefe me acosa y no sé qué hacer")
    assert result.outcome == "escalated" and result.language == "es"
    assert "RR. HH." in result.answer
    assert result.citations and "harass" in result.citations[0].doc_id


@pytest.mark.parametrize("message,language", [
    ("I want to talk to someone", "en"), ("quiero hablar con una persona", "es"),
    ("quero falar com um atendente", "pt"),
])
def test_asking_for_a_person_escalates_in_the_users_language(chat, message, language):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "escalated" and result.language == language and result.next_steps


def test_a_turn_encodes_the_question_once(chat, monkeypatch):
    embedder = chat.searcher.embedder
    seen: list[list[str]] = []
    encode = embedder.encode_queries
    monkeypatch.setattr(embedder, "encode_queries", lambda texts: seen.append(list(texts)) or encode(texts))
    first = chat.turn(EMPLOYEE, "Can I work from abroad for a few weeks?")
    assert first.citations and seen == [["Can I work from abroad for a few weeks?"]]
    seen.clear()
    chat.turn(EMPLOYEE, "and for how long at most?", first.conversation_id)
    assert len(seen) == 1 and seen[0][1] == "and for how long at most?"  # the question it follows, then itself

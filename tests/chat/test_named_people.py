"""A person named as context ("Sofia from HR said you could help with this") does not make a question a request
for that person's data; asking for a named person's data is still declined."""

from __future__ import annotations

import pytest

from app.security import User

EMPLOYEE = User("ana@brightwave.example")


@pytest.mark.integration
@pytest.mark.parametrize("message, doc", [
    ("Sofia from HR said you could help with this. How much is my personal learning budget each year?",
     "hr/training-budget.md"),
    ("Lo pregunto porque mi compañera Lucía lo comentó. ¿Puedo ver mis nóminas online?", "payroll/payslips.es.md"),
    ("A Camila do DP comentou sobre isso. Como funciona o décimo terceiro?", "payroll/decimo-terceiro.pt.md"),
])
def test_a_question_that_names_a_person_as_context_is_answered(chat, message, doc):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "answered" and result.citations[0].doc_id == doc  # not declined as private data


@pytest.mark.integration
@pytest.mark.parametrize("message", [
    "Carlos got a bonus. How much was it?",  # its question, alone, asks about nothing: the whole message decides
    "Marta from sales came back after a month off. What was wrong with her?",
    "A Juliana está afastada há 3 semanas. Qual é o CID do atestado dela?",
    "¿Cuánto cobra Sergio, el nuevo de finanzas? Lo pregunto por curiosidad.",
])
def test_asking_for_a_named_persons_data_is_still_declined(chat, message):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "declined" and result.reason == "private_data"

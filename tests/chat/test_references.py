"""Reference numbers the documents never use ("(ref 4521)", "- ticket INC0012345") are left out of what is
classified and searched; quantities, years and dates stay."""

from __future__ import annotations

import pytest

from app.chat.references import looks_like_reference, references, without_references
from app.security import User


def nowhere(code: str) -> bool:  # a corpus that uses no code
    return False


@pytest.mark.parametrize("token", ["4521", "#88213", "INC0012345", "LT-20931", "HR-2291", "(CS-004417)",
                                   "5CG1234XYZ", "E10442,", "REQ-77812"])
def test_codes_look_like_references(token):
    assert looks_like_reference(token)


@pytest.mark.parametrize("token", ["2027", "1999", "6-month", "15%", "24/12/2026", "2026-12-24", "555-0100",
                                   "COVID-19", "B12", "13º", "10am", "W-4", "v2", "13:00", "3.5", "1466",
                                   "AS-206"])
def test_quantities_years_dates_and_names_are_not_references(token):
    assert not looks_like_reference(token)


@pytest.mark.parametrize("message, core", [
    ("How do I connect to the VPN? (ref 4521)", "How do I connect to the VPN?"),
    ("How do I reset my password? - ticket INC0012345", "How do I reset my password?"),
    ("Can I work from home? Case no. CS-004417", "Can I work from home?"),
    ("Ref: HR-2291. ¿Cuántos días de vacaciones tengo?", "¿Cuántos días de vacaciones tengo?"),
    ("Posso ver meus holerites on-line? [#88213] -- REQ-77812", "Posso ver meus holerites on-line?"),
    ("My laptop 5CG1234XYZ won't boot, what do I do?", "My laptop won't boot, what do I do?"),  # the code alone
    ("Can I get a new laptop - is LT-20931 too old?", "Can I get a new laptop - is too old?"),  # a group that asks
])
def test_references_and_their_labels_are_left_out(message, core):
    assert without_references(message, nowhere) == core


def test_what_is_part_of_the_question_stays():
    for message in ["Can I take a 6-month sabbatical? I've been here for over 5 years.", "Are the 2027 holidays out?",
                    "Me pagan unos 6000 € menos que a mis compañeros", "Is 24/12/2026 a holiday?",
                    "INC0012345"]:  # a code alone: nothing else would remain
        assert without_references(message, nowhere) == message
    # a code the documents use is part of the question ("What is form HR-2291 for?")
    assert without_references("What is form HR-2291 for?", lambda code: code == "HR-2291") == "What is form HR-2291 for?"
    assert [m.group() for m in references("ticket 4521 and 2500 EUR or R$ 3000", nowhere)] == ["4521"]


EMPLOYEE = User("ana@brightwave.example")


@pytest.mark.integration
@pytest.mark.parametrize("message, doc", [
    ("Does Brightwave pay anything towards a gym membership? (asset tag LT-20931)", "hr/benefits.md"),
    ("¿Con cuánta antelación tengo que pedir una semana de vacaciones? (etiqueta de activo LT-20931)",
     "hr/annual-leave.es.md"),
    ("Posso ver meus holerites on-line? Ref: HR-2291", "payroll/payslips.pt.md"),
])
def test_a_question_with_a_reference_number_is_answered_like_the_bare_question(chat, message, doc):
    result = chat.turn(EMPLOYEE, message)
    assert result.outcome == "answered" and result.citations[0].doc_id == doc  # not only offered, nor escalated
    assert chat.store.history(result.conversation_id)[0].content == message  # stored as the employee wrote it


@pytest.mark.integration
def test_the_searcher_knows_which_codes_its_documents_use(chat):
    searcher = chat.searcher
    assert not searcher.uses("INC0012345") and not searcher.uses("LT-20931")
    assert searcher.uses("2026")  # the holiday calendar's year

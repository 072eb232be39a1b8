"""The grounding guard on its own: what a generated answer may and may not say about its passages."""

from app.chat.grounding import check, normalise_markers, unsupported_facts

PASSAGES = [
    "Go to https://password.brightwave.example and enter your work email. New passwords work at once; allow up "
    "to 5 minutes for the VPN. Call the IT service desk on +34 91 555 0142 or write to it-help@brightwave.example.",
    "Full-time employees get 25 days of paid annual leave per calendar year (1,500 hours), from 1 January 2026.",
]


def test_a_cited_answer_whose_facts_are_in_its_passages_passes():
    answer = ("Reset it at https://password.brightwave.example [1]. The VPN may take up to 5 minutes [1]. "
              "You get 25 days of leave a year [2], from 1 January 2026 [2]; that is 1500 hours [2].")
    assert check(answer, PASSAGES, "en").result == "ok"


def test_each_kind_of_fact_must_come_from_a_cited_passage():
    assert unsupported_facts("You get 30 days [2].", PASSAGES[1]) == ["30"]
    assert unsupported_facts("Call +34 91 555 0199 [1].", PASSAGES[0]) == ["+34 91 555 0199"]
    assert unsupported_facts("Call +34 91 555 0142 [1].", PASSAGES[0]) == []
    assert unsupported_facts("Write to help@evil.example [1].", PASSAGES[0]) == ["help@evil.example"]
    assert unsupported_facts("See https://evil.example/reset [1].", PASSAGES[0]) == ["https://evil.example/reset"]
    assert unsupported_facts("You get €25 [2].", PASSAGES[1]) == ["€25"]  # 25 is there, but in days
    assert unsupported_facts("A €1500 budget [1].", "A budget of 1,500 EUR per year.") == []
    assert unsupported_facts("Up to 40% [1].", "We pay 40 % of it.") == []
    # a fact from passage 2 cited as passage 1 is not supported by what it cites
    assert check("You get 25 days [1].", PASSAGES, "en").result == "unsupported"


def test_list_numbering_and_markers_are_not_facts():
    assert unsupported_facts("1. Go to the site [1].\n2. Enter your email [1].", PASSAGES[0]) == []


def test_citations_must_exist_and_be_present():
    assert check("You get 25 days [7].", PASSAGES, "en").result == "bad_citation"
    assert check("You get 25 days of leave.", PASSAGES, "en").result == "no_citation"
    assert normalise_markers("Both [1, 2] and [1-2].") == "Both [1][2] and [1][2]."
    assert check("You get 25 days [1, 2].", PASSAGES, "en").result == "ok"


def test_the_model_saying_the_documents_do_not_answer_is_not_found():
    assert check("NO_ANSWER", PASSAGES, "en").result == "not_found"
    assert check("  no_answer.", PASSAGES, "en").result == "not_found"
    assert check("The documents don't say anything about parking.", PASSAGES, "en").result == "not_found"
    assert check("Los documentos no mencionan el aparcamiento.", PASSAGES, "es").result == "not_found"


def test_an_answer_in_another_language_than_the_question_fails():
    def detect(text: str) -> tuple[str, float]:
        return ("es", 0.99) if "contraseña" in text else ("en", 0.99)

    spanish = "Puedes restablecer tu contraseña en el portal de autoservicio desde cualquier navegador [1]."
    assert check(spanish, PASSAGES, "en", detect).result == "language"
    assert check(spanish, PASSAGES, "es", detect).result == "ok"

import re

import pytest

from app.chat.composer import ExtractiveComposer, extract, finalize
from app.retrieval.documents import Chunk, Hit


def hit(doc_id: str, text: str, language: str = "en", dense: float = 0.86, score: float = 0.03) -> Hit:
    chunk = Chunk(chunk_id=doc_id, doc_id=doc_id, title=doc_id.title(), section="Section", anchor="section",
                  text=text, language=language, department="hr", audience=["everyone"], url=f"https://x/{doc_id}",
                  translation_key="", ordinal=0)
    return Hit(chunk, score, dense=dense)


def check_integrity(answer: str, citations) -> None:  # type: ignore[no-untyped-def]
    used = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer)})
    assert used == [c.n for c in citations] == list(range(1, len(citations) + 1))


def test_finalize_renumbers_by_first_use_and_drops_unused_and_dangling():
    sources = [hit("a", "A"), hit("b", "B"), hit("c", "C")]
    composed = finalize("Second source first [2]. Then a ghost [7]. Then the first [1] and [2] again.", sources)
    assert composed.answer == "Second source first [1]. Then a ghost . Then the first [2] and [1] again."
    assert [c.doc_id for c in composed.citations] == ["b", "a"]
    check_integrity(composed.answer, composed.citations)


def test_finalize_with_no_markers_lists_no_citations():
    assert finalize("No sources used.", [hit("a", "A")]).citations == []


@pytest.mark.parametrize("language,lead", [("en", "Here is"), ("es", "Esto es"), ("pt", "Veja o que")])
def test_extractive_answer_cites_what_it_quotes_in_the_users_language(language, lead):
    hits = [hit("payslips", "Payslips are on PeopleHub under Pay > Payslips."), hit("other", "Unrelated.", dense=0.5)]
    composed = ExtractiveComposer().compose("Can I see my payslips?", language, hits)
    assert composed.answer.startswith(lead)
    assert "PeopleHub" in composed.answer and [c.doc_id for c in composed.citations] == ["payslips"]
    check_integrity(composed.answer, composed.citations)
    if language != "en":
        assert "(" in composed.answer.splitlines()[0]  # says the source is in another language


def test_close_runner_up_found_by_both_retrievers_is_quoted_and_cited_too():
    hits = [hit("a", "Alpha answer.", dense=0.870, score=0.032), hit("b", "Beta answer.", dense=0.866, score=0.031)]
    hits[1].dense_rank, hits[1].bm25_rank = 1, 0
    composed = ExtractiveComposer().compose("question", "en", hits)
    assert [c.doc_id for c in composed.citations] == ["a", "b"]
    check_integrity(composed.answer, composed.citations)


def test_runner_up_only_one_retriever_likes_is_left_out():
    hits = [hit("a", "Alpha answer.", dense=0.870, score=0.032), hit("b", "Beta answer.", dense=0.866, score=0.031)]
    hits[1].dense_rank, hits[1].bm25_rank = 0, 6
    assert [c.doc_id for c in ExtractiveComposer().compose("question", "en", hits).citations] == ["a"]


def test_extract_keeps_a_list_with_its_intro_when_the_passage_is_long():
    text = ("General words about the policy. " * 20 + "\nTo reset your password:\n- Open the self-service site\n"
            "- Confirm with MFA\n- Choose a new password of 14 characters\n" + "Closing remarks. " * 20)
    from app.retrieval.text import tokenize

    out = extract(text, set(tokenize("reset password", "en")), "en")
    assert "To reset your password:" in out and "- Confirm with MFA" in out and len(out) < 700


def test_extract_centres_on_the_sentence_closest_in_meaning_when_words_dont_match():
    """A Spanish question about an English page shares no words with it: the sentence picked by the sentence
    vectors (search marks it on the hit) is what gets quoted."""
    text = ("Introduction to the expenses policy for every office. " * 12 + "Hotel nights in Brazil are "
            "reimbursed up to R$ 450 per night. " + "Other rules about receipts and approvals apply. " * 12)
    out = extract(text, {"limite", "diaria", "hotel"}, "en", focus="Hotel nights in Brazil are reimbursed up to "
                  "R$ 450 per night.")
    assert "R$ 450" in out and len(out) < 700
    assert "R$ 450" not in extract(text, {"limite", "diaria"}, "en")  # without it: the opening lines


TABLE_SECTION = (
    "Full-time employees get the following paid annual leave per calendar year (1 January to 31 December). "
    + "Some more words about how the year is counted and what happens when you join. " * 6 + "\n\n"
    "| Office | Annual leave (full-time) | Legal minimum, for reference |\n|---|---|---|\n"
    "| Dublin | 25 working days | 20 working days |\n| Madrid | 25 working days | 22 working days |\n"
    "| Lisbon | 25 working days | 22 working days |\n| São Paulo | 30 calendar days (per the CLT) | 30 calendar days |\n"
    "\n" + "Closing remarks about balances in PeopleHub. " * 8
)


def test_a_table_is_quoted_with_its_header_and_never_cut_mid_row():
    from app.retrieval.text import tokenize

    out = extract(TABLE_SECTION, set(tokenize("how many days of leave in São Paulo", "en")), "en",
                  focus="| São Paulo | 30 calendar days (per the CLT) | 30 calendar days |")
    assert "| Office | Annual leave (full-time)" in out  # the header names the columns
    assert "30 calendar days (per the CLT)" in out
    assert all(line.count("|") == 4 for line in out.splitlines() if line.startswith("| ") and "…" not in line)


def test_a_numbered_procedure_is_quoted_whole_with_its_intro():
    steps = "\n".join(f"{i}. Step number {i} of the procedure, with enough words to be realistic." for i in range(1, 9))
    text = "Background about the VPN. " * 25 + "\n\nTo connect for the first time:\n" + steps + "\n\n" + "Other. " * 40
    from app.retrieval.text import tokenize

    out = extract(text, set(tokenize("how do I connect the first time", "en")), "en",
                  focus="5. Step number 5 of the procedure, with enough words to be realistic.")
    assert "To connect for the first time:" in out
    assert all(f"{i}. Step number {i}" in out for i in range(1, 9))


def test_unsure_answers_point_to_pages_instead_of_quoting_them():
    from app.chat.composer import suggest

    hits = [hit("annual-leave", "Leave text with 25 days."), hit("annual-leave", "More."), hit("sick", "Sick.")]
    composed = suggest("en", hits)
    assert composed.answer.startswith("I'm not sure") and "25 days" not in composed.answer
    assert [c.doc_id for c in composed.citations] == ["annual-leave", "sick"]
    check_integrity(composed.answer, composed.citations)


# Sections as the chunker stores them: the Markdown splitter turns a blank line into a trailing "  \n".
DESK_SECTION = (
    "Desks are booked in **Brightwave Spaces**:  \n"
    "- on the web at **https://spaces.brightwave.example**, also linked from the intranet's **Apps** page (sign in "
    "with your Brightwave account), or\n"
    "- in the **Brightwave Spaces** mobile app (App Store or Google Play; it works on personal phones with your "
    "Brightwave sign-in).  \n"
    "1. Choose the **office**, the **date** and, if you want, the **floor** or **neighbourhood**.\n"
    "2. The floor plan shows free desks in green. Desks in your team's neighbourhood are highlighted.\n"
    "3. Select a desk and tap **Book**. You can book a full day or a morning/afternoon (until 13:00 / from 13:00).\n"
    "4. You receive a confirmation email with the desk number, for example **DUB-4-D112**.  \n"
    "You can book up to **14 days ahead** and hold up to **3 future bookings per week**. Booking a whole week in "
    "advance \"just in case\" and not coming blocks colleagues: please cancel as soon as plans change "
    "(**My bookings** → **Cancel**)."
)


def test_a_paragraph_break_from_the_splitter_separates_two_lists():
    from app.chat.quote import _blocks

    kinds = [kind for kind, _ in _blocks(DESK_SECTION)]
    assert kinds == ["para", "list", "list", "para"]


def test_an_intro_is_never_quoted_without_the_list_it_introduces():
    """"Desks are booked in Spaces:" alone answers nothing: the list after it comes too, even past the budget."""
    from app.retrieval.text import tokenize

    out = extract(DESK_SECTION, set(tokenize("how do I book a desk", "en")), "en", heading="How to book a desk")
    assert out.startswith("Desks are booked in **Brightwave Spaces**:")
    assert "https://spaces.brightwave.example" in out


def test_after_the_opening_a_heading_asks_for_comes_the_sentence_with_the_fact():
    """The heading "How to book a desk" is close to the question, so the opening is quoted; the sentence with the
    fact (closest to the question) follows it."""
    from app.retrieval.text import tokenize

    out = extract(DESK_SECTION, set(tokenize("how far ahead can i book a desk", "en")), "en",
                  heading="How to book a desk", focus="You can book up to **14 days ahead** and hold up to **3 "
                  "future bookings per week**.")
    assert "14 days ahead" in out


NOTICE_SECTION = (
    "1. Tell your manager first, in a conversation if possible.\n"
    "2. Confirm your resignation in writing: in PeopleHub go to **My job > Resign**, enter your proposed last "
    "working day and attach or type your resignation letter. This is the date that counts for your notice period.\n"
    "3. The People Team confirms your last day and next steps in writing within 5 working days.  \n"
    "Your notice period is stated in your contract. If your contract doesn't say, these minimums apply:  \n"
    "| Office | Notice you give when resigning |\n|---|---|\n"
    "| Dublin | 1 month (3 months for managers); the legal minimum is 1 week |\n"
    "| Madrid | 15 calendar days, or as set out in your contract or collective agreement |\n"
    "| Lisbon | 30 days with less than 2 years' service; 60 days with 2 years or more |\n"
    "| São Paulo | 30 days (*aviso prévio*) |  \n"
    "Your manager and the People Team can agree a shorter notice period with you. Annual leave can be taken "
    "during notice if your manager approves it, but it doesn't shorten the notice period automatically."
)


def test_a_sentence_ending_in_a_colon_brings_its_table():
    from app.retrieval.text import tokenize

    out = extract(NOTICE_SECTION, set(tokenize("How much notice do I give if I resign from the Lisbon office?", "en")),
                  "en", heading="How do I resign, and how much notice do I give?")
    assert "| Lisbon | 30 days with less than 2 years' service; 60 days with 2 years or more |" in out
    assert "these minimums apply:" in out


def test_a_line_opening_in_bold_is_a_paragraph_not_a_list_item():
    from app.chat.quote import _blocks

    text = "**In Outlook mobile:** open the email and tap Report.  \n- first item\n* second item"
    assert [kind for kind, _ in _blocks(text)] == ["para", "list"]


def test_a_hit_from_a_long_section_is_quoted_from_the_whole_section():
    steps = [f"{i}. Step {i}: unplug it, turn it upside down and wait for step {i + 1}." for i in range(1, 8)]
    section = "If you spill a drink on your laptop, act in the first few seconds:\n" + "\n".join(steps)
    h = hit("laptop", "\n".join(steps[5:]))  # the chunk search found holds only the last two steps
    h.passage, h.best_sentence = section, 0  # its best sentence: step 6
    answer = ExtractiveComposer().compose("I spilled coffee on my laptop", "en", [h]).answer
    assert all(step in answer for step in steps) and "act in the first few seconds" in answer


def test_an_overview_that_points_to_the_quoted_page_is_not_quoted_after_it():
    page = hit("vale", "O VR é de R$ 48,00 por dia útil.", language="pt", score=0.05)
    page.dense_rank, page.bm25_rank = 0, 0
    overview = hit("benefits", "- **São Paulo:** meal vouchers on an Alelo card. Amounts are in [Vale](https://x/vale).",
                   score=0.049)
    overview.dense_rank, overview.bm25_rank = 1, 1
    other = hit("expenses", "Meals on business trips are paid up to €45 per day.", score=0.049)
    other.dense_rank, other.bm25_rank = 1, 1
    assert [c.doc_id for c in ExtractiveComposer().compose("vale", "en", [page, overview]).citations] == ["vale"]
    assert [c.doc_id for c in ExtractiveComposer().compose("vale", "en", [page, other]).citations] == ["vale",
                                                                                                      "expenses"]

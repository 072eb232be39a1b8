from app.retrieval.chunking import ChunkerParams, chunk_document, slugify
from app.retrieval.documents import Document


def doc(text: str) -> Document:
    return Document(doc_id="hr/leave.md", title="Annual Leave", text=text, department="hr", url="https://x/leave")


TEXT = ("# Annual Leave\n\nIntro paragraph about leave.\n\n## How many days\n\nYou get 25 days.\n\n"
        "## Part-time staff\n\nPro rata.\n\n### Example\n\nThree days a week gives 15 days.\n")


def test_one_chunk_per_section_with_section_path_and_anchor():
    chunks = chunk_document(doc(TEXT))
    sections = [c.section for c in chunks]
    assert sections == ["Annual Leave", "How many days", "Part-time staff", "Part-time staff > Example"]
    assert chunks[3].anchor == "example" and chunks[3].link() == "https://x/leave#example"
    assert chunks[1].embed_text().startswith("Annual Leave — How many days")


def test_chunk_ids_are_stable_and_change_only_with_content():
    first, again = chunk_document(doc(TEXT)), chunk_document(doc(TEXT))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    edited = chunk_document(doc(TEXT.replace("25 days", "26 days")))
    changed = {a.section for a, b in zip(first, edited, strict=True) if a.chunk_id != b.chunk_id}
    assert changed == {"How many days"}


def test_long_sections_are_split_with_their_section_kept():
    long = "# T\n\n## Big\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    chunks = chunk_document(doc(long), ChunkerParams(chunk_size=400, chunk_overlap=40))
    assert len(chunks) > 3 and all(c.section == "T > Big" and len(c.text) <= 400 for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_slugify_strips_accents():
    assert slugify("Días de vacaciones") == "dias-de-vacaciones"


def test_a_long_sections_chunks_join_back_into_the_section():
    from app.retrieval.chunking import join_chunks

    steps = "\n".join(f"{i}. Step {i}: do the thing number {i} carefully, then check the result twice." for i in
                      range(1, 31))
    doc = Document(doc_id="it/steps.md", title="Steps", text=f"# Steps\n\n## Procedure\n\nFollow these steps:\n\n{steps}\n")
    chunks = [c for c in chunk_document(doc) if c.section == "Procedure"]
    assert len(chunks) > 2
    whole = [c for c in chunk_document(doc, ChunkerParams(chunk_size=100_000)) if c.section == "Procedure"]
    assert join_chunks([c.text for c in chunks]) == whole[0].text

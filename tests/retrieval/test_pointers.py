"""A passage that points elsewhere for the details defers to the page it points to (follow_pointers)."""

from types import SimpleNamespace

from app.retrieval.documents import Chunk, Hit
from app.retrieval.search import follow_pointers
from app.retrieval.vectors import sentences

DOCS = {
    "hr/benefits.md": {"title": "Benefits Overview", "url": "https://intra/en/benefits"},
    "hr/vale.pt.md": {"title": "Vale-refeição e vale-alimentação (São Paulo)", "url": "https://intra/pt/vale"},
    "it/printing.md": {"title": "Printing and Scanning", "url": "https://intra/en/printing"},
    "it/impressoras.pt.md": {"title": "Impressoras do escritório de São Paulo e do CD de Guarulhos",
                             "url": "https://intra/pt/impressoras"},
    "hr/other.md": {"title": "Other", "url": "https://intra/en/other"},
}
MEALS = ("- **Madrid:** Brightwave loads **€11 per working day** onto a card. Amounts up to €11 are exempt.\n"
         "- **São Paulo:** *vale-refeição* and *vale-alimentação* on an Alelo card. Amounts and rules are in "
         "[Vale-refeição e vale-alimentação (São Paulo)](https://intra/pt/vale).\n"
         "- **Dublin:** there are no meal vouchers.")
PRINTERS = ("A3 jobs go to the printers next to the IT desks. Colour printing needs a reason.\n"
            "For office-specific details of the São Paulo printers, see *Impressoras do escritório de São Paulo*.")


def chunk(doc_id: str, text: str) -> Chunk:
    return Chunk(f"{doc_id}#0", doc_id, DOCS[doc_id]["title"], "", "", text, "en", "hr", ["everyone"],
                 DOCS[doc_id]["url"], "", 0)


def hit(doc_id: str, text: str, score: float, best: str | None = None) -> Hit:
    parts = sentences(text)
    index = next((i for i, s in enumerate(parts) if best and s.startswith(best)), None)
    return Hit(chunk(doc_id, text), score, best_sentence=index)


def order(hits: list[Hit]) -> list[str]:
    index = SimpleNamespace(documents=DOCS, doc_by_url={m["url"]: d for d, m in DOCS.items()},
                            doc_titles={d: m["title"].lower() for d, m in DOCS.items()})
    return [h.chunk.doc_id for h in follow_pointers(hits, index)]


def test_the_link_later_in_the_best_sentences_list_item_counts():
    hits = [hit("hr/benefits.md", MEALS, 3.0, best="- **São Paulo:**"), hit("hr/other.md", "x", 2.5),
            hit("hr/vale.pt.md", "Valores", 2.0)]
    assert order(hits) == ["hr/vale.pt.md", "hr/benefits.md", "hr/other.md"]


def test_a_link_in_another_list_item_does_not():
    hits = [hit("hr/benefits.md", MEALS, 3.0, best="- **Madrid:**"), hit("hr/vale.pt.md", "Valores", 2.0)]
    assert order(hits) == ["hr/benefits.md", "hr/vale.pt.md"]


def test_a_page_named_by_its_title_counts_as_a_pointer():
    hits = [hit("it/printing.md", PRINTERS, 3.0, best="For office-specific"),
            hit("it/impressoras.pt.md", "Onde ficam", 2.0)]
    assert order(hits) == ["it/impressoras.pt.md", "it/printing.md"]
    hits = [hit("it/printing.md", PRINTERS, 3.0, best="A3 jobs"), hit("it/impressoras.pt.md", "Onde ficam", 2.0)]
    assert order(hits) == ["it/printing.md", "it/impressoras.pt.md"]


def test_below_document_best_measures_each_chunk_against_its_own_document():
    import numpy as np

    from app.retrieval.search import below_document_best

    doc_of = np.array([0, 0, 1, 1])
    scores = np.array([1.0, 3.0, 0.5, 0.0])
    assert below_document_best(scores, doc_of, np.array([True, True, True, True])).tolist() == [2.0, 0.0, 0.0, 0.5]
    assert below_document_best(scores, doc_of, np.array([True, False, True, True])).tolist() == [0.0, 0.0, 0.0, 0.5]


def test_in_a_paragraph_only_the_best_sentence_itself_can_point():
    text = ("Hot desks have a dock and a monitor. Just plug in the dock cable. See *Impressoras do escritório de São "
            "Paulo* for the printers.")
    hits = [hit("it/printing.md", text, 3.0, best="Just plug in"), hit("it/impressoras.pt.md", "Onde ficam", 2.0)]
    assert order(hits) == ["it/printing.md", "it/impressoras.pt.md"]

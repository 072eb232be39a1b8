from pathlib import Path

import pytest

from app.retrieval.loaders import LoadError, load_document

ROOT = Path(__file__).resolve().parents[2] / "corpus"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_becomes_metadata(tmp_path):
    f = write(tmp_path / "hr" / "leave.es.md", "---\ntitle: Vacaciones\nlanguage: es\naudience: [managers, hr]\n"
              "url: https://x/leave\ntranslation_key: leave\n---\n# Vacaciones\n\n## Días\nTienes 25 días laborables.\n")
    doc = load_document(f, tmp_path)
    assert (doc.doc_id, doc.title, doc.language, doc.department) == ("hr/leave.es.md", "Vacaciones", "es", "hr")
    assert doc.audience == ["managers", "hr"] and doc.translation_key == "leave"
    assert "## Días" in doc.text and "title:" not in doc.text


def test_metadata_defaults_come_from_path_and_text(tmp_path):
    f = write(tmp_path / "it" / "printers.txt", "Printing\n\nUse your badge to release print jobs at any printer.")
    doc = load_document(f, tmp_path)
    assert doc.department == "it" and doc.audience == ["everyone"] and doc.language == "en"
    assert doc.updated  # file date when the document says nothing


def test_html_keeps_headings_and_drops_boilerplate(tmp_path):
    f = write(tmp_path / "it" / "vpn.html", """<html><head><title>VPN help</title>
        <meta name="department" content="it"><meta name="language" content="en"></head>
        <body><nav>Home | About</nav><main><h1>VPN help</h1><h2>Error 403</h2><p>Your token expired.</p>
        <table><tr><th>Code</th><th>Meaning</th></tr><tr><td>E1</td><td>Bad password</td></tr></table>
        <script>var tracking = 1;</script></main><footer>© Corp</footer></body></html>""")
    doc = load_document(f, tmp_path)
    assert doc.title == "VPN help"
    assert "## Error 403" in doc.text and "E1 | Bad password" in doc.text
    assert "tracking" not in doc.text and "Home | About" not in doc.text and "Corp" not in doc.text


def test_sample_pdf_headings_come_from_font_sizes():
    pdfs = sorted(ROOT.rglob("*.pdf"))
    assert pdfs, "the sample corpus must hold a PDF"
    doc = load_document(pdfs[0], ROOT)
    assert doc.text.startswith("# ") and "\n## " in doc.text
    assert doc.department and doc.url  # from the sidecar .meta.yml


def test_sample_docx_headings_come_from_styles():
    docs = sorted(ROOT.rglob("*.docx"))
    assert docs, "the sample corpus must hold a DOCX"
    doc = load_document(docs[0], ROOT)
    assert "\n## " in doc.text and doc.title


@pytest.mark.parametrize("name,content,reason", [
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ("broken.docx", b"PK not a zip", "DOCX"),
    ("latin1.md", "---\ntitle: x\n---\ncaf\xe9 " .encode("latin-1") * 10, "UTF-8"),
    ("bad-front-matter.md", b"---\ntitle: [unclosed\n---\nbody text that is long enough", "YAML"),
    ("empty.md", b"", "no text"),
])
def test_unreadable_documents_say_why(tmp_path, name, content, reason):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_document(f, tmp_path)

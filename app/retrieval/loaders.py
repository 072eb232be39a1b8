"""Loaders: turn Markdown, text, HTML, PDF and DOCX files into Documents with Markdown headings.

Metadata comes, lowest priority first, from: the path (department = first folder), the file itself
(front matter, HTML <meta>, PDF/DOCX properties), then an optional sidecar `<file>.meta.yml`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from app.retrieval.documents import EVERYONE, Document
from app.retrieval.language import detect_language

SUPPORTED = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
SIDECAR_SUFFIX = ".meta.yml"


class LoadError(Exception):
    """A document could not be read; the message says why."""


@dataclass
class Loaded:
    text: str
    meta: dict[str, Any]


def _load_markdown(path: Path) -> Loaded:
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise LoadError(f"not UTF-8 text ({e.reason})") from e
    except yaml.YAMLError as e:
        raise LoadError(f"invalid YAML front matter: {str(e).splitlines()[0]}") from e
    return Loaded(post.content, dict(post.metadata))


def _load_text(path: Path) -> Loaded:
    try:
        return Loaded(path.read_text(encoding="utf-8"), {})
    except UnicodeDecodeError as e:
        raise LoadError(f"not UTF-8 text ({e.reason})") from e


def _load_html(path: Path) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    meta: dict[str, Any] = {}
    for tag in soup.find_all("meta"):
        name, content = tag.get("name"), tag.get("content")
        if name and content is not None:
            meta[str(name).lower()] = str(content)
    if soup.title and soup.title.string:
        meta.setdefault("title", soup.title.string.strip())
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template", "aside"]):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    lines: list[str] = []
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote", "dt", "dd"]):
        if el.name == "li" and el.find(["p", "li"]):
            continue  # nested structure: its children are emitted on their own
        if el.name in {"p", "dd", "dt"} and el.find_parent(["li", "tr"]):
            continue
        if el.name == "tr":
            cells = [c.get_text(" ", strip=True) for c in el.find_all(["th", "td"])]
            text = " | ".join(c for c in cells if c)
        else:
            text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            lines.append(f"\n{'#' * int(el.name[1:])} {text}\n")
        elif el.name == "li":
            lines.append(f"- {text}")
        else:
            lines.append(text)
    return Loaded("\n".join(lines), meta)


def _load_pdf(path: Path) -> Loaded:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(path)
    except (PDFSyntaxError, ValueError) as e:
        raise LoadError(f"not a readable PDF ({type(e).__name__})") from e
    rows: list[tuple[float, str]] = []
    with pdf:
        meta = {k.lower(): v for k, v in (pdf.metadata or {}).items() if isinstance(v, str) and v}
        for page in pdf.pages:
            for line in page.extract_text_lines(return_chars=True):
                sizes = [round(c["size"], 1) for c in line["chars"] if c["text"].strip()]
                if sizes:
                    rows.append((max(sizes), line["text"].strip()))
    if not rows:
        raise LoadError("the PDF has no extractable text (scanned image?)")
    body = Counter(size for size, _ in rows).most_common(1)[0][0]
    heading_sizes = sorted({s for s, _ in rows if s >= body * 1.15}, reverse=True)[:3]
    lines = []
    for size, text in rows:
        if size in heading_sizes:
            lines.append(f"\n{'#' * (heading_sizes.index(size) + 1)} {text}\n")
        else:
            lines.append(text)
    return Loaded("\n".join(lines), meta)


def _load_docx(path: Path) -> Loaded:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as e:
        raise LoadError(f"not a readable DOCX ({type(e).__name__})") from e
    props = document.core_properties
    meta: dict[str, Any] = {}
    if props.title:
        meta["title"] = props.title
    if props.author:
        meta["owner"] = props.author
    lines = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        if style == "Title":
            lines.append(f"\n# {text}\n")
        elif style.startswith("Heading") and style[-1:].isdigit():
            lines.append(f"\n{'#' * min(int(style[-1]) + 1, 6)} {text}\n")
        elif style.startswith("List"):
            lines.append(f"- {text}")
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(c.text.strip() for c in row.cells if c.text.strip()))
    return Loaded("\n".join(lines), meta)


LOADERS: dict[str, Callable[[Path], Loaded]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return [EVERYONE]
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value.strip("[] "))
    return [str(v).strip().lower() for v in value if str(v).strip()] or [EVERYONE]


def _first_heading(text: str) -> str | None:
    m = re.search(r"^#{1,3}\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def load_document(path: Path, root: Path) -> Document:
    """Load one file; raises LoadError with a human-readable reason."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix!r}")
    raw = path.read_bytes()
    try:
        loaded = loader(path)
    except LoadError:
        raise
    except Exception as e:  # a broken file must not stop the build; report it by name
        raise LoadError(f"{type(e).__name__}: {e}") from e
    meta = dict(loaded.meta)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.exists():
        raw += sidecar.read_bytes()
        try:
            meta.update(yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {})
        except yaml.YAMLError as e:
            raise LoadError(f"invalid YAML in {sidecar.name}") from e
    text = loaded.text.strip()
    if len(text) < 20:
        raise LoadError("no text content")
    rel = path.relative_to(root).as_posix()
    parts = rel.split("/")
    updated = meta.get("updated") or dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    language = str(meta.get("language") or detect_language(text[:2000])[0]).lower()[:2]
    return Document(
        doc_id=rel,
        title=str(meta.get("title") or _first_heading(text) or path.stem.replace("-", " ").capitalize()),
        text=text,
        department=str(meta.get("department") or (parts[0] if len(parts) > 1 else "general")).lower(),
        language=language,
        audience=_as_list(meta.get("audience")),
        owner=str(meta.get("owner") or ""),
        updated=str(updated),
        url=str(meta.get("url") or ""),
        translation_key=str(meta.get("translation_key") or ""),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def iter_corpus_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )

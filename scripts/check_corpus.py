#!/usr/bin/env python3
"""Sanity checks for the sample corpus (standard library only).

    python3 scripts/check_corpus.py [corpus_dir]

For every corpus/<department>/*.md: front matter has all required keys, the
department matches the folder, the language matches the file-name suffix
(.es.md / .pt.md, none for English), and there is one '# ' title. Documents in
other formats need metadata (sidecar .meta.yml for PDF/DOCX, <meta> tags for
HTML) and must not also exist as .md. translation_key groups are listed.
Exit status 1 if anything is wrong.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

REQUIRED = ("title", "department", "language", "audience", "owner", "updated", "url")
LANGS = {"en", "es", "pt"}


def read_front_matter(text: str) -> dict[str, str] | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 4)
    if end < 0:
        return None
    meta = {}
    for line in text[4:end].splitlines():
        m = re.match(r"^([A-Za-z_]+):\s*(.*?)\s*$", line)
        if m:
            meta[m.group(1)] = m.group(2)
    return meta


def read_sidecar(path: Path) -> dict[str, str]:
    meta = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z_]+):\s*(.*?)\s*$", line)
        if m:
            meta[m.group(1)] = m.group(2)
    return meta


class MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content") or ""
        elif tag == "title":
            self.in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.meta["title"] = self.meta.get("title", "") + data.strip()


def expected_language(path: Path) -> str:
    parts = path.name.split(".")
    return parts[-2] if len(parts) >= 3 and parts[-2] in LANGS else "en"


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "corpus"
    problems: list[str] = []
    keys: dict[str, list[str]] = defaultdict(list)
    rows = []

    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus)
        if path.name.endswith(".meta.yml"):
            if not path.with_name(path.name[: -len(".meta.yml")]).exists():
                problems.append(f"{rel}: sidecar without its document")
            continue
        suffix = path.suffix.lower()
        if suffix == ".md":
            text = path.read_text(encoding="utf-8")
            meta = read_front_matter(text)
            if meta is None:
                problems.append(f"{rel}: no front matter")
                continue
            body = text.split("\n---\n", 1)[1]
            titles = [ln for ln in body.splitlines() if ln.startswith("# ")]
            if len(titles) != 1:
                problems.append(f"{rel}: expected one '# ' title, found {len(titles)}")
            words = len(re.findall(r"\w+", body))
            sections = sum(1 for ln in body.splitlines() if ln.startswith("## "))
        elif suffix in (".pdf", ".docx"):
            sidecar = path.with_name(path.name + ".meta.yml")
            if not sidecar.exists():
                problems.append(f"{rel}: no sidecar {sidecar.name}")
                continue
            meta, words, sections = read_sidecar(sidecar), None, None
        elif suffix in (".html", ".htm"):
            parser = MetaTags()
            parser.feed(path.read_text(encoding="utf-8"))
            meta, words, sections = parser.meta, None, None
        else:
            problems.append(f"{rel}: unexpected file type")
            continue

        missing = [k for k in REQUIRED if not meta.get(k)]
        if missing:
            problems.append(f"{rel}: missing {', '.join(missing)}")
        if meta.get("department") != rel.parts[0]:
            problems.append(f"{rel}: department {meta.get('department')!r} != folder {rel.parts[0]!r}")
        if suffix == ".md" and meta.get("language") != expected_language(path):
            problems.append(
                f"{rel}: language {meta.get('language')!r}, file name says {expected_language(path)}"
            )
        if suffix != ".md":
            stem = path.name[: -len(path.suffix)]
            if path.with_name(stem + ".md").exists():
                problems.append(f"{rel}: also exists as {stem}.md")
        if meta.get("translation_key"):
            keys[meta["translation_key"]].append(f"{rel} ({meta.get('language')})")
        rows.append(
            (
                str(rel),
                meta.get("language", "?"),
                meta.get("audience", "?"),
                words,
                sections,
                meta.get("title", "?").strip("'\""),
            )
        )

    for rel, lang, aud, words, sections, title in rows:
        extra = f"{words:4d} words {sections} sections" if words is not None else " " * 19
        print(f"{rel:48s} {lang:2s} {aud:14s} {extra}  {title}")
    print()
    for key, members in sorted(keys.items()):
        print(f"translation_key {key}: {', '.join(members)}")
        if len(members) < 2:
            problems.append(f"translation_key {key} has only one document")
    print()
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"OK: {len(rows)} documents, all with {', '.join(REQUIRED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

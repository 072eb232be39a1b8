"""Which part of a passage to quote: the sentence, list or table that answers, never cut mid-way.

A passage is read as blocks: paragraphs (split into sentences), bullet or numbered lists, and tables. A short
list or table is one piece that is quoted whole or not at all; a long one is quoted by its items (a long
table keeps its header and the rows for the asker's case, e.g. their office). The unit that answers is the
sentence, item or row closest in meaning to the question (marked by search), else the one sharing most words.
The quote is a window of pieces around it: from the start of the passage when the unit is near the start,
else from the sentence introducing its list or table; then following pieces while the budget lasts. A window
that is only a lead-in ("… these minimums apply:") also takes the list or table after it, and when the heading
is the question the opening is quoted, then the unit that answers after an ellipsis. A passage short enough is
quoted whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ¿¡\"(*])")
_NUMBERED = re.compile(r"^\d+[.)]\s")
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}")
WHOLE_LIST_CHARS = 1400  # a list up to this long is one piece
WHOLE_TABLE_CHARS = 900
# An intro quoted without the list or table it introduces answers nothing: that list comes along up to this size.
INTRO_CAP_CHARS = 1600


@dataclass
class Piece:
    text: str
    block: int  # which block it comes from (pieces of one paragraph are joined with spaces)
    units: list[str]  # what is scored: sentences, list items, table rows
    atomic: bool = False  # a whole list or table
    kind: str = "para"  # para, list or table


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """Paragraphs, lists and tables. A blank line ends a block, and so does a line ending in two spaces: that is
    how the chunker's Markdown splitter keeps a blank line (app/retrieval/chunking.py)."""
    out: list[tuple[str, list[str]]] = []
    for raw in text.split("\n"):
        line, stripped = raw.rstrip(), raw.strip()
        if not stripped:
            out.append(("gap", []))
            continue
        ends_block = raw.endswith("  ")
        if stripped.startswith("|"):
            kind = "table"
        elif stripped.startswith(("- ", "* ", "• ")) or _NUMBERED.match(stripped):  # "**Bold**" opens a paragraph
            kind = "list"
        elif raw.startswith(("  ", "\t")) and out and out[-1][0] == "list":
            kind = "list"  # an item's continuation line
        else:
            kind = "para"
        if out and out[-1][0] == kind:
            out[-1][1].append(line if kind == "list" else stripped)
        else:
            out.append((kind, [line if kind == "list" else stripped]))
        if ends_block:
            out.append(("gap", []))
    return [(k, lines) for k, lines in out if k != "gap"]


def pieces(text: str, score: Callable[[str], int]) -> list[Piece]:
    out: list[Piece] = []
    for b, (kind, lines) in enumerate(_blocks(text)):
        whole = "\n".join(lines)
        if kind == "para":
            out.extend(Piece(s, b, [s]) for line in lines for s in _SENTENCE.split(line) if s.strip())
        elif kind == "list":
            if len(whole) <= WHOLE_LIST_CHARS:
                out.append(Piece(whole, b, lines, atomic=True, kind="list"))
            else:
                out.extend(Piece(item, b, [item], kind="list") for item in lines)
        else:
            rows = [r for r in lines if not _SEPARATOR.match(r.strip())]
            out.append(Piece(_table(lines, score), b, rows, atomic=True, kind="table"))
    return out


def _table(rows: list[str], score: Callable[[str], int]) -> str:
    """The whole table when short or when no row stands out; else its header and the best rows."""
    whole = "\n".join(rows)
    head = rows[:2] if len(rows) > 1 and _SEPARATOR.match(rows[1].strip()) else rows[:1]
    body = rows[len(head):]
    if len(whole) <= WHOLE_TABLE_CHARS or len(body) <= 2:
        return whole
    scores = [score(r) for r in body]
    top = max(scores)
    if top == 0 or scores.count(top) > 2:
        return whole
    return "\n".join(head + [r for r, s in zip(body, scores, strict=True) if s == top])


def choose(text: str, score: Callable[[str], int], budget: int = 650, focus: str | None = None,
           heading_is_question: Callable[[int], bool] | None = None) -> str:
    text = text.strip()
    if len(text) <= budget:
        return text
    parts = pieces(text, score)
    if not parts:
        return text[:budget]
    units = [(i, u) for i, p in enumerate(parts) for u in p.units]
    scores = [score(u) for _, u in units]
    best_unit = max(range(len(units)), key=lambda k: (scores[k], -k))
    if focus:
        probe = " ".join(focus.split())[:40]
        best_unit = next((k for k, (_, u) in enumerate(units) if probe and probe in " ".join(u.split())), best_unit)
    answer = units[best_unit][0]
    best = answer
    if heading_is_question and heading_is_question(scores[best_unit]):
        best = 0  # the section's heading is the question: its opening is the answer
    before = sum(len(p.text) + 1 for p in parts[:best])
    if before <= budget * 0.6:
        start = 0
    elif parts[best].atomic and best > 0 and not parts[best - 1].atomic:
        start = best - 1  # the sentence that introduces the list or table
    else:
        start = best
    chosen, size = [], 0
    for i in range(start, len(parts)):
        if i > best and size + len(parts[i].text) > budget:
            break
        chosen.append(i)
        size += len(parts[i].text) + 1
    for i in _introduced(parts, chosen, size):
        chosen.append(i)
        size += len(parts[i].text) + 1
    if answer > chosen[-1] and size + len(parts[answer].text) <= INTRO_CAP_CHARS:
        chosen.append(answer)  # the opening the heading asked for, then the sentence or row with the fact
    body = ""
    for k, i in enumerate(chosen):
        if k and i != chosen[k - 1] + 1:
            body += " …\n"
        elif k:
            body += " " if parts[i].block == parts[i - 1].block and not parts[i].atomic else "\n"
        body += parts[i].text
    head = "… " if start > 0 else ""
    tail = " …" if chosen[-1] < len(parts) - 1 else ""
    return head + body + tail


def _introduced(parts: list[Piece], chosen: list[int], size: int) -> list[int]:
    """The list or table right after the window, when the window is only its lead-in: a sentence ending in a
    colon, or prose with no list or table at all ("Act in the first seconds: …" before the numbered steps)."""
    end = chosen[-1] + 1
    if end >= len(parts) or parts[end].kind == "para" or parts[chosen[-1]].kind != "para":
        return []
    if not (parts[chosen[-1]].text.rstrip().endswith(":") or all(parts[i].kind == "para" for i in chosen)):
        return []
    extra = []
    for i in range(end, len(parts)):
        if parts[i].block != parts[end].block or size + len(parts[i].text) > INTRO_CAP_CHARS:
            break
        extra.append(i)
        size += len(parts[i].text) + 1
    return extra

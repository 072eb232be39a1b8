"""Which part of a passage to quote: the block (sentence, list, table) that answers, never cut mid-way.

A passage is read as blocks: paragraphs (split into sentences), bullet or numbered lists, and tables. The
unit that answers is the sentence closest in meaning to the question (marked by search), else the one
sharing most words. Around it:
- a table: its intro line, the header and the rows for the asker's case (the rows sharing the question's
  words, e.g. the office), or the whole table when it is short or no row stands out;
- a list: its intro line and the whole list (a numbered procedure is never cut), up to a generous limit;
- a paragraph: a window of sentences around the unit, plus the list or table it introduces.
A passage short enough is quoted whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ¿¡\"(*])")
_NUMBERED = re.compile(r"^\d+[.)]\s")
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}")
WHOLE_LIST_CHARS = 1400  # a list up to this long is quoted whole
WHOLE_TABLE_CHARS = 900


@dataclass
class Block:
    kind: str  # para | list | table
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            if out and out[-1].kind == "para":
                out.append(Block("gap"))
            continue
        if stripped.startswith("|"):
            kind = "table"
        elif stripped.startswith(("-", "*", "•")) or _NUMBERED.match(stripped):
            kind = "list"
        elif raw.startswith(("  ", "\t")) and out and out[-1].kind == "list":
            kind = "list"  # an item's continuation line
        else:
            kind = "para"
        if out and out[-1].kind == kind:
            out[-1].lines.append(line if kind == "list" else stripped)
        else:
            out.append(Block(kind, [line if kind == "list" else stripped]))
    return [b for b in out if b.kind != "gap"]


def units_of(block: Block) -> list[str]:
    if block.kind == "para":
        return [s for line in block.lines for s in _SENTENCE.split(line) if s.strip()]
    if block.kind == "table":
        return [row for row in block.lines if not _SEPARATOR.match(row.strip())]
    return block.lines


def choose(text: str, score: Callable[[str], int], budget: int = 650, focus: str | None = None,
           heading_is_question: Callable[[int], bool] | None = None) -> str:
    text = text.strip()
    if len(text) <= budget:
        return text
    parts = blocks(text)
    units = [(b, u) for b, block in enumerate(parts) for u in units_of(block)]
    if not units:
        return text[:budget]
    scores = [score(u) for _, u in units]
    best = max(range(len(units)), key=lambda i: (scores[i], -i))
    if focus:
        probe = " ".join(focus.split())[:40]
        best = next((i for i, (_, u) in enumerate(units) if probe and probe in " ".join(u.split())), best)
    if heading_is_question and heading_is_question(scores[best]):
        best = 0  # the section's heading is the question: its opening is the answer
    b, unit = units[best]
    block = parts[b]
    intro = _intro(parts, b)
    if block.kind == "table":
        body = _table(block, score)
    elif block.kind == "list":
        body = _list(block, unit, budget)
    else:
        body = _window(units_of(block), units_of(block).index(unit), budget)
        follow = parts[b + 1] if b + 1 < len(parts) else None
        if follow and follow.kind in ("list", "table") and body.rstrip().endswith(":"):
            body += "\n" + (_table(follow, score) if follow.kind == "table" else _list(follow, None, budget))
            b += 1
    content = "\n".join(p for p in (intro, body) if p)
    flat_text = " ".join(text.split())
    flat = " ".join(content.split())
    head = "" if flat_text.startswith(flat[:30]) else "… "
    tail = "" if flat_text.endswith(flat[-30:]) else " …"
    return head + content + tail


def _intro(parts: list[Block], b: int) -> str:
    """The sentence that introduces a list or table ("Full-time employees get the following:")."""
    if parts[b].kind == "para" or b == 0 or parts[b - 1].kind != "para":
        return ""
    sentences = units_of(parts[b - 1])
    return sentences[-1] if sentences else ""


def _table(block: Block, score: Callable[[str], int]) -> str:
    rows = block.lines
    if len(block.text) <= WHOLE_TABLE_CHARS or len(rows) <= 3:
        return block.text
    head = rows[:2] if len(rows) > 1 and _SEPARATOR.match(rows[1].strip()) else rows[:1]
    body = rows[len(head):]
    scores = [score(r) for r in body]
    top = max(scores)
    if top == 0 or scores.count(top) > 2:
        return block.text
    return "\n".join(head + [r for r, s in zip(body, scores, strict=True) if s == top]) + "\n| … |"


def _list(block: Block, unit: str | None, budget: int) -> str:
    if len(block.text) <= WHOLE_LIST_CHARS:
        return block.text
    lines = block.lines
    at = lines.index(unit) if unit in lines else 0
    return _window(lines, at, budget * 2)


def _window(units: list[str], at: int, budget: int) -> str:
    start = 0 if sum(len(u) + 1 for u in units[: at + 1]) <= budget * 0.6 else at
    picked, size = [], 0
    for u in units[start:]:
        if picked and size + len(u) > budget:
            break
        picked.append(u)
        size += len(u) + 1
    return " ".join(picked)

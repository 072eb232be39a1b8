"""Reference numbers in a message ("(ref 4521)", "- ticket INC0012345", "laptop SN 5CG1234XYZ") left out of what
is classified and searched.

Employees add their ticket, case or asset numbers to questions. No document holds such a number, so read whole, the
message's own words were matched against passages that could never contain all of them: on the golden set's dev
questions, a tag appended to each took `fully_right` from 0.746 to 0.631, mostly through the confidence's lexical
coverage (the number is the question's rarest word). A reference is a code the documents never use: four or more
digits, alone (not a year) or with capitals ("LT-20931"). A number with a unit ("6-month", "15%"), a
year or a date is part of the question and stays. A short bracketed group, dash-separated tail or sentence at
either end that holds a reference is left out whole (its label, "ticket", "Case no.", goes with it); elsewhere
only the code. The message is stored as written. Measured in eval/README.md, "Reference numbers record".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from app.chat.pleasantries import sentences

_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = "()[]{}<>#.,;:!?¿¡\"'«»“”‘’"
_CODE = re.compile(r"[A-Z0-9]+(?:[-_][A-Z0-9]+)*")
# a group at either end: "(asset tag LT-20931)", "[#88213]", "- ticket INC0012345", "-- REQ-77812"
_GROUPS = (re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$"), re.compile(r"\s+(?:-{1,2}|–|—|\|)\s+[^-–—|]*$"),
           re.compile(r"^\s*[(\[][^()\[\]]*[)\]]\s*"), re.compile(r"^[^-–—|]*\s(?:-{1,2}|–|—|\|)\s+"))
CURRENCY_CODES = frozenset({"EUR", "USD", "GBP", "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "CHF", "CAD"})
LABEL_WORDS = 4  # a group with a reference is left out whole when it has at most this many words


def looks_like_reference(token: str) -> bool:
    """A code by its shape: capitals and at least four digits ("4521", "#88213", "LT-20931", "INC0012345"), but
    not a year from 1000 to 2099. "6-month", "15%", "24/12/2026", "555-0100", "AS-206" and "COVID-19" are not."""
    core = token.strip(_EDGE_PUNCTUATION)
    if not _CODE.fullmatch(core) or sum(c.isdigit() for c in core) < 4:
        return False
    if core.isdigit():
        return not (len(core) == 4 and 1000 <= int(core) <= 2099)
    return any(c.isalpha() for c in core)  # "2026-12-24", "555-0100": a date or a phone number


def references(text: str, known: Callable[[str], bool]) -> list[re.Match[str]]:
    """The codes in `text` that the documents never use (`known`: whether a code appears in them); an amount
    ("6000 €", "$ 1500", "2500 EUR") is not one."""
    tokens = list(_TOKEN.finditer(text))
    return [m for i, m in enumerate(tokens) if looks_like_reference(m.group())
            and not any(_is_currency(tokens[j].group()) for j in (i - 1, i + 1) if 0 <= j < len(tokens))
            and not known(m.group().strip(_EDGE_PUNCTUATION))]


def _is_currency(token: str) -> bool:
    token = token.strip(_EDGE_PUNCTUATION)
    return bool(token) and (all(unicodedata.category(c) == "Sc" for c in token) or token in CURRENCY_CODES
                            or (len(token) <= 3 and unicodedata.category(token[-1]) == "Sc"))  # "R$", "US$"


def without_references(message: str, known: Callable[[str], bool]) -> str:
    """`message` without its reference numbers: short groups at its ends that hold one go whole, other codes
    alone; the message itself when nothing else would remain."""
    text = message.strip()
    if not references(text, known):
        return message
    while True:  # "How do I …? (asset tag LT-20931) - ticket INC0012345": one group after the other
        groups = [(s, e) for s, e in _edge_groups(text) if (s, e) != (0, len(text)) and _labels(text[s:e], known)]
        if not groups:
            break
        start, end = max(groups, key=lambda g: g[1] - g[0])  # the label goes with its code: "Case no. CS-004417"
        text = (text[:start] + " " + text[end:]).strip()
    for m in reversed(references(text, known)):  # the code alone: "(LT-20931," keeps its brackets
        text = text[: m.start()] + m.group().replace(m.group().strip(_EDGE_PUNCTUATION), "") + text[m.end() :]
    text = re.sub(r"\s{2,}", " ", text).strip(" -–—|:;,")
    return text if re.search(r"\w", text) else message


def _labels(group: str, known: Callable[[str], bool]) -> bool:
    """Whether `group` labels a reference ("(asset tag LT-20931)", "Case no. CS-004417"): short, holding one, and
    asking nothing ("- my LT-20931 is broken?" is part of the question: only its code goes)."""
    asks = group.rstrip(" )]").endswith("?")
    return len(group.split()) <= LABEL_WORDS and not asks and bool(references(group, known))


def _edge_groups(text: str) -> list[tuple[int, int]]:
    """(start, end) of the bracketed groups, dash-separated parts and one or two sentences at either end."""
    groups = [(m.start(), m.end()) for p in _GROUPS if (m := p.search(text))]
    spans = sentences(text)
    for n in (1, 2):
        if len(spans) > n:
            groups += [(spans[0][0], spans[n - 1][1]), (spans[-n][0], len(text))]
    return groups

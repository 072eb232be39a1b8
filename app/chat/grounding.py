"""The grounding guard: a generated answer is shown only when it cites passages that exist and every checkable
fact in it (number, date, amount, URL, e-mail, phone) appears in a passage it cites. Anything else falls back to
the quoted (extractive) answer, which is grounded by construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.privacy.mask import EMAIL

NO_ANSWER = "NO_ANSWER"
# "[1]", "[1][2]", "[1, 2]", "[1-2]" (the last two are normalised to "[1][2]")
MARKERS = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\]\[)]+", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w.,/-])\+?\(?\d[\d ().-]{5,}\d(?![\w/-])")
NUMBER = re.compile(r"(?<![\w])\d+(?:[.,:/-]\d+)*")
_CURRENCY = r"R\$|US\$|[€$£%]|EUR|USD|BRL|GBP|euros?|reais|real|d[oó]lar(?:es)?|dollars?"
AMOUNT = re.compile(rf"(?:({_CURRENCY})\s?(\d+(?:[.,]\d+)*)|(\d+(?:[.,]\d+)*)\s?({_CURRENCY}))(?!\w)", re.IGNORECASE)
CURRENCIES = {"€": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "us$": "USD", "dollar": "USD",
              "dollars": "USD", "dolar": "USD", "dólar": "USD", "dolares": "USD", "dólares": "USD", "£": "GBP",
              "r$": "BRL", "reais": "BRL", "real": "BRL"}
LIST_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s", re.MULTILINE)
# A model that ignored the NO_ANSWER instruction but still said so, in the three languages.
NOT_ANSWERED = re.compile(
    r"(documents?|passages?|context|documentos?|fragmentos?|trechos?|pasajes?)\b.{0,40}\b("
    r"do(?:es)? not|don't|doesn't|no (?:mencionan?|dicen?|responden?|incluyen?|contienen?)|"
    r"não (?:mencionam?|dizem?|respondem?|incluem?|contêm|contém))", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    result: str  # ok | not_found | no_citation | bad_citation | unsupported | language
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "ok"


def normalise_markers(text: str) -> str:
    """"[1, 2]" and "[1-3]" → "[1][2]" / "[1][2][3]", the form `finalize` renumbers."""
    def expand(m: re.Match[str]) -> str:
        numbers: list[int] = []
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            ends = [int(x) for x in re.split(r"\s*[–-]\s*", part)]
            numbers.extend(range(ends[0], ends[-1] + 1) if len(ends) == 2 and 0 <= ends[1] - ends[0] < 10 else ends)
        return "".join(f"[{n}]" for n in numbers)

    return MARKERS.sub(expand, text)


def prose(text: str) -> str:
    """The text without citation markers and links (what language identification should read)."""
    return URL.sub(" ", MARKERS.sub(" ", text))


def cited(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", normalise_markers(text))]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0") or "0"


def _number_forms(text: str) -> set[str]:
    """Every number of a text as its digits without leading zeros ("1,500" and "1500" → "1500", "09:00" → "900"),
    also each group alone ("1.500,00" → "150000", "1", "500", "0")."""
    forms: set[str] = set()
    for m in NUMBER.finditer(text):
        forms.add(_digits(m.group(0)))
        forms.update(_digits(g) for g in re.split(r"[.,:/-]", m.group(0)) if g)
    return forms


def _amounts(text: str) -> list[tuple[str, tuple[str, str]]]:
    """(as written, (currency, digits)) of every amount or percentage: "€1,500" and "1500 EUR" are the same."""
    found = []
    for m in AMOUNT.finditer(text):
        unit = (m.group(1) or m.group(4)).lower()
        found.append((m.group(0), (CURRENCIES.get(unit, unit.upper()), _digits(m.group(2) or m.group(3)))))
    return found


def unsupported_facts(answer: str, sources: str) -> list[str]:
    """The URLs, e-mails, phone numbers and numbers of `answer` that do not appear in `sources`."""
    missing: list[str] = []
    lowered = sources.lower()
    text = MARKERS.sub(" ", answer)
    for pattern in (URL, EMAIL):
        for m in pattern.finditer(text):
            value = m.group(0).rstrip(".,;:!?")
            if value.lower() not in lowered:
                missing.append(value)
        text = pattern.sub(" ", text)
    phones = {_digits(m.group(0)) for m in PHONE.finditer(MARKERS.sub(" ", sources))}
    source_digits = re.sub(r"\D", "", sources)
    for m in PHONE.finditer(text):
        digits = _digits(m.group(0))
        if len(digits) >= 7:
            if digits not in phones and digits not in source_digits:
                missing.append(m.group(0).strip())
            text = text.replace(m.group(0), " ")
    amounts = {key for _, key in _amounts(sources)}
    for written, key in _amounts(text):
        if key not in amounts:  # the number may be in the passage, but not as this amount
            missing.append(written)
    text = LIST_NUMBER.sub(" ", text)
    numbers = _number_forms(sources)
    missing.extend(m.group(0) for m in NUMBER.finditer(text) if _digits(m.group(0)) not in numbers)
    return missing


def check(answer: str, passages: list[str], language: str,
          detect: Callable[[str], tuple[str, float]] | None = None) -> Verdict:
    """Judge a generated answer against the numbered `passages` (1-based) it was given."""
    text = answer.strip()
    if not text or text.strip(" .\"'`*").upper().startswith(NO_ANSWER):
        return Verdict("not_found", "the model said the passages don't answer")
    markers = cited(text)
    if not markers:
        if NOT_ANSWERED.search(text):
            return Verdict("not_found", "the model said the documents don't answer")
        return Verdict("no_citation", "the answer cites no passage")
    wrong = sorted({n for n in markers if not 1 <= n <= len(passages)})
    if wrong:
        return Verdict("bad_citation", f"cites [{wrong[0]}] of {len(passages)} passages")
    missing = unsupported_facts(text, "\n".join(passages[n - 1] for n in sorted(set(markers))))
    if missing:
        return Verdict("unsupported", f"{missing[0]!r} is in no cited passage")
    if detect is not None:
        words = prose(text)
        if len(re.findall(r"[^\W\d_]{2,}", words)) >= 5:
            found, probability = detect(words)
            if found != language and probability >= 0.6:
                return Verdict("language", f"written in {found}, asked in {language}")
    return Verdict("ok")

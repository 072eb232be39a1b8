"""Masking of personal data in free text: emails, phone numbers, Spanish DNI/NIE, Brazilian CPF, US SSN, IBAN
and payment card numbers become "[email]", "[phone]", "[DNI]", "[NIE]", "[CPF]", "[SSN]", "[IBAN]", "[card]".

Candidates are found with loose patterns and kept only when python-stdnum validates them (IBAN mod-97, the
DNI/NIE letter, the CPF check digits, SSN area rules, the Luhn digit), so dates, amounts, ticket numbers
(HR-0042) and version numbers stay as they are. Phone numbers are found by libphonenumber (`phonenumbers`),
international ones anywhere and national ones in the regions of the company's offices.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.es import dni, nie
from stdnum.us import ssn

PHONE_REGIONS = ("BR", "ES", "PT", "IE", "US")  # São Paulo, Madrid, Lisbon, Dublin; US for +1-less numbers
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# A lowercase letter only when joined: "… 20260315 y …" is a number and a word, not a DNI.
NIE = re.compile(r"\b[XYZxyz][ -]?\d{7}(?:[ -]?[A-Z]|-?[a-z])\b")
DNI = re.compile(r"\b\d{8}(?:[ -]?[A-Z]|-?[a-z])\b")
CPF = re.compile(r"(?<![\w.-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\w-])")
SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _iban(match: re.Match[str]) -> str:
    """The longest run of the candidate's groups that is a valid IBAN (the pattern may take a following word)."""
    text = match.group(0)
    cuts = [m.start() for m in re.finditer(r"[ -]", text)] + [len(text)]
    for cut in reversed(cuts):
        if iban.is_valid(text[:cut].replace("-", "")):
            return "[IBAN]" + text[cut:]
    return text


def _card(candidate: str) -> bool:
    digits = _digits(candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits) and len(set(digits)) > 1


_RULES: list[tuple[re.Pattern[str], Callable[[str], bool], str]] = [
    (EMAIL, lambda c: True, "[email]"),
    (NIE, lambda c: nie.is_valid(c), "[NIE]"),
    (DNI, lambda c: dni.is_valid(c), "[DNI]"),
    (CPF, lambda c: cpf.is_valid(c), "[CPF]"),
    (SSN, lambda c: ssn.is_valid(c), "[SSN]"),
    (CARD, _card, "[card]"),
]


# A run of digits that libphonenumber could take for one number: digits with up to 4 of its punctuation characters
# between them (spaces, dashes, dots, slashes, brackets...), maybe after a "+"; its candidates are made the same way.
# No number is valid with fewer digits than PHONE_MIN_DIGITS: 7 in a national format here (Ireland's shortest), 6
# after a "+" (Germany's and Austria's shortest with their country code; 5 leaves a margin). A text without such a
# run skips the matcher, which costs 0.1–0.8 ms per text and region: too much for every log line (an IP address,
# a uuid). tests/privacy/test_mask.py checks this against the matcher itself.
try:
    from phonenumbers.phonenumbermatcher import _PUNCTUATION as _PHONE_PUNCTUATION  # "[...]{0,4}"
except ImportError:  # a version without it: any non-word character (more texts go to the matcher, none fewer)
    _PHONE_PUNCTUATION = r"(?:\W|[xX]){0,4}"
PHONE_RUN = re.compile(rf"(?:([+＋]){_PHONE_PUNCTUATION})?\d(?:{_PHONE_PUNCTUATION}\d)*")
PHONE_MIN_DIGITS, PHONE_MIN_DIGITS_AFTER_PLUS = 7, 5


def _may_hold_phone(text: str) -> bool:
    return any(sum(ch.isdigit() for ch in m.group(0)) >= (PHONE_MIN_DIGITS_AFTER_PLUS if m.group(1) else PHONE_MIN_DIGITS)
               for m in PHONE_RUN.finditer(text))


def _phones(text: str) -> str:
    for region in PHONE_REGIONS:
        if not _may_hold_phone(text):  # also once the numbers found so far are masked
            break
        found = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING))
        for match in reversed(found):
            text = text[:match.start] + "[phone]" + text[match.end:]
    return text


def _masker(valid: Callable[[str], bool], label: str) -> Callable[[re.Match[str]], str]:
    """Replaces a match by `label` when it is valid (a real IBAN, CPF…), else leaves it."""
    return lambda m: label if valid(m.group(0)) else m.group(0)


def mask(text: str | None) -> str | None:
    """`text` with every recognised piece of personal data replaced by its kind in brackets."""
    if not text:
        return text
    text = IBAN.sub(_iban, text)
    for pattern, valid, label in _RULES:
        text = pattern.sub(_masker(valid, label), text)
    return _phones(text)


def mask_text(text: str) -> str:
    """`mask` for a str that is never None (keeps type checkers quiet at call sites)."""
    return mask(text) or text

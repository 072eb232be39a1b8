"""Masking of personal data: each kind in English, Spanish and Portuguese sentences, and what must stay."""

from __future__ import annotations

import logging

import pytest

from app.privacy.logs import MaskingFilter
from app.privacy.mask import mask

MASKED = [
    # (sentence, the personal data in it, its label)
    ("My email is ana.garcia@brightwave.example, please reply there", "ana.garcia@brightwave.example", "[email]"),
    ("Mi correo personal es ana+nominas@gmail.com", "ana+nominas@gmail.com", "[email]"),
    ("O meu e-mail é joao.silva@empresa.com.br", "joao.silva@empresa.com.br", "[email]"),
    ("Call me on +353 1 555 0199 after lunch", "+353 1 555 0199", "[phone]"),
    ("my mobile is 087 123 4567", "087 123 4567", "[phone]"),
    ("US office: (650) 253-0000", "(650) 253-0000", "[phone]"),
    ("Llámame al 612 345 678 por la tarde", "612 345 678", "[phone]"),
    ("Mi móvil es +34 612 345 678", "+34 612 345 678", "[phone]"),
    ("Meu celular é (11) 98765-4321, pode ligar", "(11) 98765-4321", "[phone]"),
    ("O meu telemóvel é +351 912 345 678", "+351 912 345 678", "[phone]"),
    ("Mi DNI es 12345678Z y no me llega la nómina", "12345678Z", "[DNI]"),
    ("DNI: 12345678-Z", "12345678-Z", "[DNI]"),
    ("Tengo NIE X1234567L, ¿necesito algo más?", "X1234567L", "[NIE]"),
    ("My NIE is Y-1234567-X", "Y-1234567-X", "[NIE]"),
    ("Meu CPF é 529.982.247-25 e o holerite não chegou", "529.982.247-25", "[CPF]"),
    ("CPF 52998224725", "52998224725", "[CPF]"),
    ("My SSN is 536-90-4399 for the W-2", "536-90-4399", "[SSN]"),
    ("Change my bank account to IBAN ES91 2100 0418 4502 0005 1332 please", "ES91 2100 0418 4502 0005 1332",
     "[IBAN]"),
    ("Cambiad mi cuenta a ES9121000418450200051332 desde este mes", "ES9121000418450200051332", "[IBAN]"),
    ("O meu IBAN é PT50 0002 0123 1234 5678 9015 4", "PT50 0002 0123 1234 5678 9015 4", "[IBAN]"),
    ("I paid the hotel with card 4111 1111 1111 1111 by mistake", "4111 1111 1111 1111", "[card]"),
    ("Paguei com o cartão 5500-0000-0000-0004", "5500-0000-0000-0004", "[card]"),
]

KEPT = [
    "My ticket HR-0042 is still open since 2026-03-15",
    "El ticket IT-1042 del 15/03/2026 a las 10:30",
    "I spent €2,000.50 on the trip; the limit is €2,000 per report",
    "Gastei R$ 1.234,56 no hotel",
    "The VPN client version 1.2.3 and v2.14.0 both fail",
    "Mi número de empleado es 482913 y el pedido 123456789",
    "Pagué 20260315 y luego nada",
    "Event 4740 on DUB-DC01, cost centre DUB-OPS-214",
    "Card 1234 5678 9012 3456 fails the check digit",
    "IBAN ES00 2100 0418 4502 0005 1332 has a wrong check number",
    "CPF 123.456.789-00 is not a valid number",
    "I need 5 days of leave from 1 to 5 August 2026",
]


@pytest.mark.parametrize(("sentence", "data", "label"), MASKED)
def test_personal_data_is_masked_with_its_kind(sentence, data, label):
    masked = mask(sentence)
    assert data not in masked and label in masked
    assert masked == sentence.replace(data, label)


@pytest.mark.parametrize("sentence", KEPT)
def test_dates_amounts_ticket_and_version_numbers_are_not_masked(sentence):
    assert mask(sentence) == sentence


def test_several_kinds_in_one_message():
    text = ("Hola, soy ana.garcia@brightwave.example (DNI 12345678Z, móvil 612 345 678): "
            "cambiad mi IBAN a ES91 2100 0418 4502 0005 1332 para la nómina de marzo (ticket PAY-0007).")
    assert mask(text) == ("Hola, soy [email] (DNI [DNI], móvil [phone]): cambiad mi IBAN a [IBAN] para la nómina de "
                          "marzo (ticket PAY-0007).")
    assert mask(None) is None and mask("") == ""


def test_log_records_are_masked_before_any_handler_writes_them():
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.privacy.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("escalated question %r from %s", "mi IBAN es ES91 2100 0418 4502 0005 1332",
                       "ana.garcia@brightwave.example")
    finally:
        logger.removeHandler(handler)
    assert records == ["escalated question 'mi IBAN es [IBAN]' from [email]"]


def test_uvicorn_access_lines_are_masked_and_still_formatted():
    from uvicorn.logging import AccessFormatter

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    level, disabled = logger.level, logger.disabled  # a uvicorn started by an earlier test may have disabled it
    logger.setLevel(logging.INFO)  # (setLevel, not .level: it clears the logger's cached answers)
    logger.disabled = False
    try:
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/api/v1/admin/privacy/users/ana.garcia@brightwave.example/export", "1.1", 200)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
    assert records == ['127.0.0.1:5000 - "GET /api/v1/admin/privacy/users/[email]/export HTTP/1.1" 200 OK']


def _phones_by_the_matcher_alone(text: str) -> str:
    """What `_phones` did before it skipped texts without a long digit run: the matcher on every text."""
    import phonenumbers

    from app.privacy.mask import PHONE_REGIONS

    for region in PHONE_REGIONS:
        found = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING))
        for match in reversed(found):
            text = text[:match.start] + "[phone]" + text[match.end:]
    return text


def _digit_texts(count: int) -> list[str]:
    """Texts of digit groups between separators, some a phone number in some region, most not."""
    import random

    rng = random.Random(11)
    separators = [" ", "-", ".", "/", ":", "(", ")", ", ", " x ", "  ", "", "\u00a0", " / ", ") "]
    out = []
    for _ in range(count):
        groups = [str(rng.randint(0, 10 ** rng.randint(1, 5) - 1)) for _ in range(rng.randint(1, 5))]
        text = groups[0] + "".join(rng.choice(separators) + g for g in groups[1:])
        out.append(rng.choice(["", "+", "+ ", "00", "tel. ", "Call "]) + text + rng.choice(["", " now", "."]))
    return out


def test_texts_without_a_long_digit_run_skip_the_phone_matcher_and_masking_is_unchanged(monkeypatch):
    """A log line (an IP address, a uuid, an amount) skips libphonenumber's matcher, which costs up to ~0.8 ms per
    text and region; every text is masked exactly as the matcher alone masks it."""
    import phonenumbers

    from app.privacy import mask as masking

    texts = [t for t, _, _ in MASKED] + _digit_texts(1500) + [
        "127.0.0.1:54321", "turn 1a1596e2-f9f2-4544-b339-67b9a366af21 outcome=answered confidence=0.83",
        "+49 30 1234", "+43 1 234 56", "+49 (0)30 123 456", "0049 30 1234 567", "1-800-555-0199", "+1 650 253 0000 x123",
        "(11) 3456-7890", "+55 11 3456 7890", "01 234 5678", "Tel.: 91 123 45 67", "612345678", "２０２６ １２３ ４５６７",
        "12/04/2026 10:30", "1.234.567,89 €", "v1.2.3", "HR-0042", "ISBN 978-3-16-148410-0", "order 1234567",
    ]
    masked = [masking._phones(t) for t in texts]
    assert masked == [_phones_by_the_matcher_alone(t) for t in texts]
    assert sum("[phone]" in m for m in masked) > 20  # the comparison saw phones, not only texts without one

    calls = []
    real = phonenumbers.PhoneNumberMatcher
    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    for line in ("127.0.0.1:54321", "POST /api/v1/chat HTTP/1.1 200",
                 "turn 1a1596e2-f9f2-4544-b339-67b9a366af21 outcome=answered confidence=0.83"):
        assert masking.mask_text(line) == line
    assert calls == []
    assert masking.mask_text("Mi móvil es +34 612 345 678") == "Mi móvil es [phone]" and calls

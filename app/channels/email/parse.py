"""An inbound mail, read: who sent it, what it answers (threading ids), the new text the employee wrote
(HTML reduced to text, quoted history and signature cut), its attachments, and whether it is an automatic
mail that must never be answered (auto-replies, bounces)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.utils import getaddresses

import html2text
from imap_tools import MailMessage
from mailparser_reply import EmailReplyParser

# Lines that open the quoted history in the clients employees use, in en/es/pt (mail-parser-reply knows en
# and es headers; these add pt and the forms it misses).
QUOTE_HEADER = re.compile(
    r"^\s*(On\s.+wrote:|El\s.+escribi[oó]:|Em\s.+escreveu:|-{2,}\s*(Original Message|Mensaje original|"
    r"Mensagem original)\s*-{2,}|_{10,}|(From|De):\s.+@.+)\s*$", re.IGNORECASE)
SIGNATURE = re.compile(r"^(--\s?|Sent from my \w+.*|Enviado desde mi \w+.*|Enviado do meu \w+.*)$", re.IGNORECASE)
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
MSGID = re.compile(r"<[^<>\s]+>")


@dataclass
class Attachment:
    filename: str
    content_type: str
    payload: bytes

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class InboundMail:
    message_id: str
    sender: str  # the From address, lower case
    subject: str
    text: str  # what the employee wrote in this mail, without quotes and signature
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str | None = None  # auto_reply | bulk | bounce: never answered

    @property
    def referenced(self) -> list[str]:
        """Message-IDs this mail answers, the nearest first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2]


def _header(msg: MailMessage, name: str) -> str:
    values = msg.headers.get(name.lower()) or ()
    return " ".join(str(v) for v in values).strip()


def message_ids(value: str) -> list[str]:
    return MSGID.findall(value or "")


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping: the chat service reads sentences
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.ignore_links = False
    converter.inline_links = False  # links listed apart, so the text reads as written
    return converter.handle(html)


def strip_reply(text: str) -> str:
    """The new part of a reply: quoted history ("> …", "On … wrote:", "-----Original Message-----") and the
    signature ("-- ", "Sent from my phone") cut."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    replies = EmailReplyParser(languages=["en", "es"]).read(text).replies
    latest = (replies[0].body if replies else text) or text
    kept: list[str] = []
    for line in latest.split("\n"):
        if QUOTE_HEADER.match(line) or SIGNATURE.match(line.rstrip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def automatic_kind(msg: MailMessage, sender: str) -> str | None:
    """Why a mail is automatic (RFC 3834 Auto-Submitted, Precedence, vendor headers, RFC 3464 reports)."""
    auto = _header(msg, "auto-submitted").lower()
    if auto and auto != "no":
        return "auto_reply"
    if _header(msg, "precedence").lower() in AUTO_PRECEDENCE:
        return "bulk"
    if any(_header(msg, h) for h in ("x-autoreply", "x-autorespond")):
        return "auto_reply"
    if msg.obj.get_content_type() == "multipart/report" or BOUNCE_SENDERS.match(sender) or not sender:
        return "bounce"
    if _header(msg, "return-path").strip() == "<>":
        return "bounce"
    return None


def parse(raw: bytes) -> InboundMail:
    msg = MailMessage.from_bytes(raw)
    addresses = getaddresses([_header(msg, "from")])
    sender = (addresses[0][1] if addresses else "").strip().lower()
    mid = (message_ids(_header(msg, "message-id")) or [""])[0]
    if not mid:  # no Message-ID: the content decides, so a re-fetched copy is still the same mail
        mid = f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.ayuda>"
    body = msg.text if msg.text.strip() else html_to_text(msg.html) if msg.html else ""
    attachments = [Attachment(a.filename or "attachment", a.content_type or "application/octet-stream", a.payload)
                   for a in msg.attachments
                   if a.content_disposition != "inline" or a.filename]
    return InboundMail(
        message_id=mid[:300], sender=sender, subject=(msg.subject or "").strip()[:300], text=strip_reply(body),
        in_reply_to=message_ids(_header(msg, "in-reply-to")), references=message_ids(_header(msg, "references")),
        attachments=attachments, automatic=automatic_kind(msg, sender),
    )


def question_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and ticket tags."""
    previous = None
    while previous != subject:
        previous = subject
        subject = re.sub(r"^\s*(re|fw|fwd|rv|res|enc|aw)\s*:\s*", "", subject, flags=re.IGNORECASE)
        subject = re.sub(r"^\s*\[[A-Z]{2,5}-\d+\]\s*", "", subject)
    return subject.strip()


TICKET_TAG = re.compile(r"\[([A-Z]{2,5}-\d{4,})\]")

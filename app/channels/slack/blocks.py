"""Block Kit messages: an answer with numbered citations linked to the documents and its buttons; ticket updates.

Slack's mrkdwn is not Markdown: `&`, `<`, `>` are escaped, **bold** becomes *bold*, [text](url) becomes
<url|text>, and each [n] of the answer links to its document. A section holds 3,000 characters at most.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from app.channels.slack.texts import st
from app.chat.composer import Citation

SECTION_CHARS = 3000
FEEDBACK = ("answered", "answered_offer_human")  # answers worth a 👍/👎
HUMAN = ("answered", "answered_offer_human", "clarify", "off_topic")  # no ticket yet: offer a person
ACTIONS_BLOCK = "ayuda_actions"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_text(text: str) -> str:
    """Link text can't hold `|` or `>`."""
    return escape(text).replace("|", "¦")


def doc_url(c: Citation, public_url: str) -> str:
    return c.url or f"{public_url.rstrip('/')}/help/doc/{quote(c.doc_id)}"


def mrkdwn(text: str, citations: list[Citation] | None = None, public_url: str = "") -> str:
    out = escape(text)
    out = re.sub(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)", lambda m: f"<{m.group(2)}|{m.group(1)}>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"*\1*", out)
    urls = {c.n: doc_url(c, public_url) for c in citations or []}
    return re.sub(r"\[(\d+)\](?!\()", lambda m: f"<{urls[int(m.group(1))]}|[{m.group(1)}]>"
                  if int(m.group(1)) in urls else m.group(0), out)


def sections(text: str) -> list[dict[str, Any]]:
    """The text as section blocks of at most SECTION_CHARS, cut between paragraphs (or lines) when it can."""
    blocks, rest = [], text.strip()
    while rest:
        if len(rest) <= SECTION_CHARS:
            piece, rest = rest, ""
        else:
            cut = max(rest.rfind("\n\n", 0, SECTION_CHARS), rest.rfind("\n", 0, SECTION_CHARS))
            cut = cut if cut > SECTION_CHARS // 2 else SECTION_CHARS
            piece, rest = rest[:cut], rest[cut:].lstrip()
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
    return blocks


def answer_blocks(answer: str, language: str, citations: list[Citation], outcome: str, message_id: str,
                  public_url: str, next_steps: str | None = None) -> list[dict[str, Any]]:
    blocks = sections(mrkdwn(answer, citations, public_url))
    if next_steps:
        blocks += sections(mrkdwn(next_steps))
    if citations:
        lines = [f"<{doc_url(c, public_url)}|[{c.n}] {link_text(c.title)}"
                 + (f" — {link_text(c.section)}" if c.section and c.section != c.title else "") + ">"
                 for c in citations]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"*{st(language, 'sources')}:* " + " · ".join(lines)[:2900]}]})
    buttons = []
    if outcome in FEEDBACK:
        buttons += [{"type": "button", "action_id": "feedback_up", "value": message_id,
                     "text": {"type": "plain_text", "text": st(language, "helpful"), "emoji": True}},
                    {"type": "button", "action_id": "feedback_down", "value": message_id,
                     "text": {"type": "plain_text", "text": st(language, "not_helpful"), "emoji": True}}]
    if outcome in HUMAN:
        buttons.append({"type": "button", "action_id": "human", "value": message_id,
                        "text": {"type": "plain_text", "text": st(language, "human"), "emoji": True}})
    if buttons:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons})
    return blocks


def replace_actions(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The message's blocks with its buttons replaced by a note (after a click)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]}]


def without_button(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    """The message's blocks without one button (and without its actions block when that was the last one)."""
    out = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [e for e in block.get("elements") or [] if e.get("action_id") != action_id]
            if not elements:
                continue
            block = {**block, "elements": elements}
        out.append(block)
    return out


def ticket_blocks(text: str, language: str, number: str, ticket_id: str, first: bool,
                  rate: bool) -> list[dict[str, Any]]:
    """A ticket update DM; the first one of a ticket says that replies in its thread go to the ticket, a CSAT
    request carries 1–5 buttons."""
    blocks = sections(mrkdwn(text))
    if first:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": escape(st(language, "ticket_thread", number=number))}]})
    if rate:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(st(language, "rate"))}})
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": [
            {"type": "button", "action_id": f"csat_{score}", "value": f"{ticket_id}:{score}",
             "text": {"type": "plain_text", "text": "⭐" * score, "emoji": True}} for score in range(1, 6)]})
    return blocks

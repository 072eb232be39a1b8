"""Block Kit rendering and Slack text handling (pure functions: no model, no server)."""

from __future__ import annotations

from app.channels.slack.blocks import SECTION_CHARS, answer_blocks, mrkdwn, replace_actions, sections
from app.channels.slack.intake import plain
from app.chat.composer import Citation

VPN = Citation(1, "it/vpn-setup.md", "VPN Setup", "How do I connect?", "https://intranet.example/it/vpn#connect",
               "…", "en")
NO_URL = Citation(2, "hr/leave.md", "Leave <& more>", "Leave <& more>", "", "…", "en")


def test_citations_link_to_their_documents_and_text_is_escaped():
    text = mrkdwn("Open **GlobalProtect** [1] & sign in <now> [2]; see [the guide](https://x.example/g).",
                  [VPN, NO_URL], "https://ayuda.example")
    assert "<https://intranet.example/it/vpn#connect|[1]>" in text
    assert "<https://ayuda.example/help/doc/hr/leave.md|[2]>" in text  # no url: the help center's page
    assert "*GlobalProtect*" in text and "&amp; sign in &lt;now&gt;" in text
    assert "<https://x.example/g|the guide>" in text


def test_an_answer_has_sources_and_the_buttons_its_outcome_allows():
    answered = answer_blocks("Connect [1].", "es", [VPN], "answered", "m-1", "https://ayuda.example")
    actions = next(b for b in answered if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == ["feedback_up", "feedback_down", "human"]
    assert all(a["value"] == "m-1" for a in actions) and actions[2]["text"]["text"] == "Hablar con una persona"
    assert "Fuentes" in str(answered) and "[1] VPN Setup — How do I connect?" in str(answered)
    escalated = answer_blocks("Ticket IT-0001 opened.", "en", [], "escalated", "m-2", "", "Next steps: …")
    assert not [b for b in escalated if b["type"] == "actions"]  # a ticket exists: no buttons
    after = replace_actions(answered, "👍 Thanks")
    assert not [b for b in after if b["type"] == "actions"] and after[-1]["type"] == "context"


def test_long_answers_are_split_into_sections_slack_accepts():
    long = "\n\n".join(["word " * 150] * 10)
    blocks = sections(long)
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= SECTION_CHARS for b in blocks)


def test_slack_message_text_is_read_as_typed():
    assert plain("<@UBOT> how do I reset my password?", "UBOT") == "how do I reset my password?"
    assert plain("<@UBOT> can <@U123|ana> see <https://x.example|this> &amp; that?", "UBOT") == \
        "can @someone see this & that?"
    assert plain("ask <#C123|general> about <mailto:a@b.example|a@b.example>", "UBOT") == \
        "ask general about a@b.example"

"""Streamed answers in a real browser (Debian's Chromium through Playwright) against a real server whose LLM is the
fake one (tests/support/fake_llm.py): the reply shows in a provisional bubble while it is written, the final answer
replaces it (or the quoted answer, when the server's guard rejects the generated text), and a server or network
that can't stream falls back to POST /api/v1/chat with the same Idempotency-Key.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.fake_llm import Reply
from tests.web.conftest import DESKTOP

pytestmark = pytest.mark.integration

QUESTION = "How do I reset my password?"
ECHO = "You can reset your password yourself at any time, from any device, at the self-service site."
TIMEOUT = 20_000
REPLY = ".ay-bot[data-item]"  # a reply (the welcome and the provisional bubble have no data-item)

# Every change to the chat's shadow root, as what the provisional bubble and the final reply showed at that moment.
RECORD = """() => {
  const root = document.querySelector("#ayuda-chat").shadowRoot;
  window.__seen = [];
  new MutationObserver(() => {
    const draft = root.querySelector(".ay-draft"), reply = root.querySelector(".ay-bot[data-item]");
    window.__seen.push({
      draft: draft && draft.textContent, busy: draft && draft.getAttribute("aria-busy"),
      hidden: draft && draft.getAttribute("aria-hidden"), inLog: draft && draft.parentElement.matches(".ay-log"),
      reply: reply && reply.textContent, drafts: root.querySelectorAll(".ay-draft").length,
    });
  }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
}"""


def open_chat(browser, server, user, errors):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/?user={user}")
    page.get_by_label("Your question").wait_for()
    return ctx, page


def ask(page, question):  # type: ignore[no-untyped-def]
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")


def chat_requests(page):  # type: ignore[no-untyped-def]
    """(path, Idempotency-Key) of every chat request the page makes, streamed or not."""
    seen: list[tuple[str, str]] = []
    page.on("request", lambda r: seen.append((r.url.split("/api/v1")[1], r.headers.get("idempotency-key", "")))
            if re.search(r"/api/v1/chat(/stream)?$", r.url) else None)
    return seen


def test_the_reply_streams_into_a_provisional_bubble_then_the_final_answer_replaces_it(browser, llm_server, fake_llm, shots):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    ctx, page = open_chat(browser, llm_server, "sofia.stream@brightwave.example", errors)
    requests = chat_requests(page)
    page.evaluate(RECORD)
    fake_llm.script.clear()
    fake_llm.reply(Reply(token_delay=0.05))  # echo: the first sentence of the best passage, cited, slowly

    ask(page, QUESTION)
    page.locator(".ay-draft").wait_for()  # the provisional bubble is there while the reply is being written …
    assert page.locator(REPLY).count() == 0
    assert page.locator(".ay-typing").is_visible()
    page.screenshot(path=shots / "chat-streaming-desktop.png")
    reply = page.locator(REPLY).last
    reply.locator(".ay-cite").first.wait_for()  # … and the final answer replaces it
    assert page.locator(".ay-draft").count() == 0

    seen = page.evaluate("window.__seen")
    drafts = [s for s in seen if s["draft"]]
    assert drafts, seen
    first = drafts[0]
    assert first["reply"] is None and len(first["draft"]) < len(ECHO) and ECHO.startswith(first["draft"]), first
    assert len({s["draft"] for s in drafts}) > 2  # it grew token by token
    assert all(s["busy"] == "true" and s["hidden"] == "true" and s["inLog"] and s["drafts"] == 1 for s in drafts)
    assert not any("[" in s["draft"] for s in drafts)  # the provisional text has no [n] markers
    assert not any(s["draft"] and s["reply"] for s in seen)  # never both at once: the bubble is replaced
    assert seen[-1]["draft"] is None and seen[-1]["reply"]

    assert "self-service site" in reply.locator(".ay-answer").inner_text()
    cite = reply.locator(".ay-cite").first
    assert re.match(r"^/help/doc/it/password-reset\.md#[\w-]+$", cite.get_attribute("href")), cite.get_attribute("href")
    assert reply.locator(".ay-sources a[href*='password-reset']").count() >= 1
    assert reply.get_attribute("aria-busy") is None and reply.get_attribute("aria-hidden") is None
    assert page.locator(".ay-typing").is_hidden()
    assert [path for path, _ in requests] == ["/chat/stream"]

    # the reply was saved like any other: it is there after a reload, and the conversation goes on
    page.reload()
    page.locator(REPLY, has_text="self-service site").wait_for()
    assert page.locator(".ay-draft").count() == 0
    assert not errors, errors
    ctx.close()


def test_a_generated_reply_the_guard_rejects_is_replaced_by_the_quoted_answer(browser, llm_server, fake_llm):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    ctx, page = open_chat(browser, llm_server, "tomas.guard@brightwave.example", errors)
    page.evaluate(RECORD)
    fake_llm.script.clear()
    fake_llm.reply(Reply(text="You get 99 extra days off [7].", token_delay=0.05))  # cites a passage it wasn't given

    ask(page, QUESTION)
    reply = page.locator(REPLY).last
    reply.locator(".ay-cite").first.wait_for()
    seen = page.evaluate("window.__seen")
    assert any(s["draft"] and "99 extra days" in s["draft"] and s["reply"] is None for s in seen), seen
    answer = reply.locator(".ay-answer").inner_text()
    assert "Here is what our documents say" in answer and "self-service" in answer
    assert reply.locator(".ay-sources a[href*='password-reset']").count() >= 1
    assert page.locator(".ay-draft").count() == 0
    assert "99 extra days" not in page.locator("body").inner_text()
    assert not errors, errors
    ctx.close()


def sse(*events: tuple[str, dict]) -> str:
    return "".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n" for name, data in events)


HALF = ("token", {"text": "Half an ans"})
FALLBACKS = {  # the stream endpoint, faked: what an older server, a proxy or a broken connection could do
    "older server": {"status": 404, "content_type": "application/json",
                     "body": json.dumps({"error": {"code": "not_found", "message": "Not Found"}})},
    "not an event stream": {"status": 200, "content_type": "text/html", "body": "<html>a login page</html>"},
    "stream cut off": {"status": 200, "content_type": "text/event-stream", "body": sse(HALF)},
    "error event": {"status": 200, "content_type": "text/event-stream",
                    "body": sse(HALF, ("error", {"error": {"code": "internal_error", "message": "boom"}}))},
    "network failure": None,
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_without_a_working_stream_the_answer_comes_from_the_chat_endpoint(browser, llm_server, fake_llm, case):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    ctx, page = open_chat(browser, llm_server, f"fallback.{case.replace(' ', '-')}@brightwave.example", errors)
    fake = FALLBACKS[case]
    page.route("**/api/v1/chat/stream",
               lambda route: route.fulfill(**fake) if fake else route.abort("connectionreset"))
    requests = chat_requests(page)
    fake_llm.script.clear()

    ask(page, QUESTION)
    reply = page.locator(REPLY).last
    reply.locator(".ay-cite").first.wait_for()
    assert "self-service site" in reply.locator(".ay-answer").inner_text()
    assert page.locator(".ay-draft").count() == 0 and "Half an ans" not in page.locator("body").inner_text()
    assert [path for path, _ in requests] == ["/chat/stream", "/chat"]
    assert requests[0][1] == requests[1][1] and re.fullmatch(r"[0-9a-f-]{36}", requests[0][1])  # the same key

    ask(page, "And if I forgot my username?")
    page.locator(REPLY).nth(1).wait_for()
    paths = [path for path, _ in requests[2:]]
    # a server without the endpoint is not asked again; after a broken stream, streaming is tried again
    assert paths == (["/chat"] if case in ("older server", "not an event stream") else ["/chat/stream", "/chat"])
    assert not errors, errors
    ctx.close()


@pytest.mark.parametrize(("status", "code", "shown"), [
    (429, "too_many_requests", ".ay-alert:has-text(\"Ayuda can't be reached right now\")"),  # retryable: Retry
    (422, "invalid_input", ".ay-user.ay-failed:has-text(\"The message could not be sent: nope\")"),  # Edit
])
def test_errors_before_the_stream_starts_are_shown_as_from_the_chat_endpoint(browser, llm_server, status, code, shown):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    ctx, page = open_chat(browser, llm_server, f"refused.{status}@brightwave.example", errors)
    body = json.dumps({"error": {"code": code, "message": "nope"}})
    page.route("**/api/v1/chat/stream",
               lambda route: route.fulfill(status=status, content_type="application/json", body=body))
    requests = chat_requests(page)
    ask(page, QUESTION)
    page.locator(shown).wait_for()
    assert [path for path, _ in requests] == ["/chat/stream"]  # no second try through /chat
    assert page.locator(REPLY).count() == 0
    assert not errors, errors
    ctx.close()


def chunks(*parts: str | bytes) -> list[list[int]]:
    return [list(p.encode() if isinstance(p, str) else p) for p in parts]


TOKEN = 'event: token\r\ndata: {"text": "ñandú"}\r\n\r\n'.encode()
INSIDE_N = TOKEN.index("ñ".encode()) + 1  # between the two bytes of "ñ"
STREAMS = {  # name: (status, Content-Type, the body in chunks)
    "good": (200, "text/event-stream; charset=utf-8", chunks(
        ": ping\r\n\r\n", "event: citations\r", '\ndata: {"citations":', ' []}\r\n\r\n',  # a \r\n cut in two
        TOKEN[:INSIDE_N], TOKEN[INSIDE_N:],
        'event: token\ndata: {"text":\ndata: "two\\nlines"}\n\n',  # data on two lines, joined with \n
        'data:{"no": "name"}\n\n', "id: 7\nretry: 10\n\n",
        'event: final\r\ndata: {"answer": "Done [1]"}\r\n\r\n', 'event: token\ndata: {"text": "late"}\n\n')),
    "cut": (200, "text/event-stream", chunks('event: token\ndata: {"text": "a"}\n\nevent: final\ndata: {"ans')),
    "error": (200, "text/event-stream",
              chunks('event: error\ndata: {"error": {"code": "internal_error", "message": "boom"}}\n\n')),
    "garbled": (200, "text/event-stream", chunks("event: final\ndata: {nope\n\n")),
    "html": (200, "text/html", chunks("<html></html>")),
    "refused": (422, "application/json", chunks('{"error": {"code": "invalid_input", "message": "too long"}}')),
}


def test_the_event_stream_parser(browser, llm_server):  # type: ignore[no-untyped-def]
    """Ayuda.stream on bodies cut at awkward places: inside a \\r\\n, inside a UTF-8 character, inside a field."""
    errors: list[str] = []
    ctx, page = open_chat(browser, llm_server, "parser.tester@brightwave.example", errors)
    result = page.evaluate("""async (streams) => {
      const out = {};
      const real = window.fetch;
      for (const [name, [status, type, parts]] of Object.entries(streams)) {
        window.fetch = async () => new Response(new ReadableStream({ start(c) {
          for (const p of parts) c.enqueue(new Uint8Array(p));
          c.close();
        } }), { status, headers: { "Content-Type": type } });
        const events = [];
        try {
          const final = await Ayuda.stream("/api/v1/chat/stream", { body: {}, onEvent: (n, d) => events.push([n, d]) });
          out[name] = { final, events };
        } catch (e) {
          out[name] = { events, error: { status: e.status, code: e.code, message: e.message, retryable: e.retryable,
                                         broken: Boolean(e.broken), unavailable: Boolean(e.unavailable),
                                         api: e instanceof Ayuda.ApiError } };
        } finally {
          window.fetch = real;
        }
      }
      return out;
    }""", STREAMS)
    good = result["good"]
    assert good["final"] == {"answer": "Done [1]"}
    assert good["events"] == [["citations", {"citations": []}], ["token", {"text": "ñandú"}],
                              ["token", {"text": "two\nlines"}], ["message", {"no": "name"}],
                              ["final", {"answer": "Done [1]"}]]
    assert result["cut"]["events"] == [["token", {"text": "a"}]]
    for name in ("cut", "error", "garbled"):
        err = result[name]["error"]
        assert err["broken"] and err["retryable"] and err["api"] and not err["unavailable"], (name, err)
    assert result["error"]["error"]["code"] == "internal_error" and result["error"]["error"]["message"] == "boom"
    html = result["html"]["error"]
    assert html["unavailable"] and not html["broken"] and not html["retryable"], html
    assert result["refused"]["error"] == {"status": 422, "code": "invalid_input", "message": "too long",
                                          "retryable": False, "broken": False, "unavailable": False, "api": True}
    assert not errors, errors
    ctx.close()

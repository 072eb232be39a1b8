"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol (JSON and streamed SSE), for
the LLM composer's tests and benchmarks. We can't reach a company's LLM endpoint here, so this stands in for it.

Replies are scripted (`FakeLLM.reply(...)`, consumed in order) or, when the script is empty, made by echo:
an answer quoting the first sentence of the passage that shares most words with the question, cited; a rewrite
request gets the last employee question joined with the message; a judge request gets "YES".
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str | None = None  # None: echo
    status: int = 200
    delay: float = 0.0  # before the response starts
    token_delay: float = 0.0  # between streamed deltas
    malformed: bool = False  # a stream that breaks off with a chunk that is not JSON
    chunk_chars: int = 8  # characters per streamed delta


def echo(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    if "standalone question" in system:
        last = re.search(r"Last message: (.*)$", user, re.S)
        before = re.findall(r"^Employee: (.*)$", user, re.M)
        return f"{before[-1]} {last.group(1).strip()}" if before and last else (last.group(1) if last else user)
    if "faithful" in system.lower():
        return "YES"
    question = re.search(r"Question: (.*?)\n", user)
    words = set(re.findall(r"\w{4,}", (question.group(1) if question else "").lower()))
    passages = re.findall(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', user, re.S)
    if not passages:
        return "NO_ANSWER"
    n, text = max(passages, key=lambda p: len(words & set(re.findall(r"\w{4,}", p[1].lower()))))
    lines = [" ".join(re.sub(r"[|*#`>]", " ", line).split()) for line in text.splitlines()]
    prose = next((line for line in lines if len(line.split()) >= 6), " ".join(lines))
    sentence = re.split(r"(?<=[.!?])\s", prose, maxsplit=1)[0]
    return f"{html.unescape(sentence[:300])} [{n}]"


class FakeLLM:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.default = Reply()  # when the script is empty
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                with fake.lock:
                    fake.requests.append(body | {"_path": self.path, "_auth": self.headers.get("Authorization")})
                    reply = fake.script.pop(0) if fake.script else fake.default
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                time.sleep(reply.delay)
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                text = echo(body) if reply.text is None else reply.text
                if body.get("stream"):
                    self._stream(body, text, reply)
                else:
                    self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                                     "model": body.get("model", "fake"),
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": text}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: fine
                    self.wfile.write(data)

            def _stream(self, body: dict[str, Any], text: str, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()

                def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
                    event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": body.get("model", "fake"),
                             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()

                try:
                    chunk({"role": "assistant", "content": ""})
                    for i in range(0, len(text), reply.chunk_chars):
                        if reply.malformed and i >= len(text) // 2:
                            self.wfile.write(b'data: {"choices": [{"delta": {"content": "tr\n\n')
                            self.wfile.flush()
                            return
                        time.sleep(reply.token_delay)
                        chunk({"content": text[i:i + reply.chunk_chars]})
                    chunk({}, "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): fine

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-llm", daemon=True)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply(self, *replies: Reply | str) -> None:
        with self.lock:
            self.script.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def chat_requests(self) -> list[dict[str, Any]]:
        """Answer-writing requests (not rewrites or judges), oldest first."""
        return [r for r in self.requests if "numbered passages" in r["messages"][0]["content"]]

"""Fixtures for the web tests: a real uvicorn server on 127.0.0.1, a second origin serving an intranet page
that embeds /widget.js, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, make_settings
from tests.support.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    corpus: Path
    index: Path

    def api(self, method: str, path: str, user: str, groups: str = "", **kw):  # type: ignore[no-untyped-def]
        headers = {"X-Ayuda-User": user, "X-Ayuda-Groups": groups}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)


@pytest.fixture(scope="session")
def intranet_port() -> int:
    """The intranet's port, chosen before the server starts: its origin must be in AYUDA_CORS_ORIGINS."""
    return free_port()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, sample_index, embedder, intranet_port) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The whole app on a free port, on private copies of the corpus and index (the admin page re-indexes and
    drafts articles into corpus/faq). The intranet origin is allowed explicitly (CORS is same-origin only by
    default)."""
    from app.main import create_app

    base = tmp_path_factory.mktemp("web")
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(sample_index, index)
    settings = make_settings(base, index, embedder, corpus_dir=corpus, run_outbox_worker=False,
                             cors_origins=f"http://127.0.0.1:{intranet_port}")
    with serve(create_app(settings, embedder=embedder)) as url:
        yield LiveServer(url, corpus, index)


@contextlib.contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An ASGI app served by uvicorn on a free port of 127.0.0.1, in a thread: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-web-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    """The company's LLM, faked: an OpenAI-compatible server on loopback (tests/support/fake_llm.py)."""
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory, sample_index, embedder, fake_llm) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The whole app with an LLM configured (the fake one), so /api/v1/chat/stream sends generated tokens. It only
    reads the corpus and the sample index."""
    from app.main import create_app

    base = tmp_path_factory.mktemp("web-llm")
    settings = make_settings(base, sample_index, embedder, run_outbox_worker=False, llm_base_url=fake_llm.url,
                             llm_model="fake", llm_timeout_seconds=5)
    with serve(create_app(settings, embedder=embedder)) as url:
        yield LiveServer(url, CORPUS, sample_index)


@pytest.fixture(scope="session")
def intranet(live_server, tmp_path_factory, intranet_port) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Another origin (another port) with a page that embeds the widget with one tag, as an intranet would."""
    root = tmp_path_factory.mktemp("intranet")
    (root / "index.html").write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Brightwave intranet</title><link rel="icon" href="data:,">
<style>body{{margin:0;font:16px Georgia,serif;background:#faf7f2}} header{{background:#3b2f63;color:#fff;padding:14px 24px}}
main{{max-width:900px;margin:auto;padding:24px}}</style></head>
<body><header><strong>Brightwave Logistics</strong></header>
<main><h1>Welcome back, Ana</h1><p>Company news, tools and people. The help chat is in the corner.</p></main>
<script src="{live_server.url}/widget.js" data-user="ana.garcia@brightwave.example" data-groups="managers"
        data-poll-ms="1000" async></script>
</body></html>""", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", intranet_port), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="intranet", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # type: ignore[no-untyped-def]  # noqa: A002
        pass


@pytest.fixture
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

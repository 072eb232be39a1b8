"""The LLM composer's latency against a real OpenAI-protocol server on loopback (tests/support/fake_llm.py), and
the extractive path with no LLM configured, each against a real `ayuda serve` process.

The loopback model streams its answer in 4-character deltas every `--token-ms` ms (default 20 ms: about 50
tokens/s, a small model on a GPU) after `--first-ms` ms (default 150: prompt processing). Printed: time to the
first event (the quoted draft's citations), time to the first token, total time of POST /api/v1/chat/stream,
POST /api/v1/chat with the LLM, and POST /api/v1/chat without one. Asserts nothing.
Usage: python bench/llm_stream.py [-n 36] [--token-ms 20] [--first-ms 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.chat_latency import QUESTIONS, free_port  # noqa: E402
from tests.support.fake_llm import FakeLLM, Reply  # noqa: E402

ASKED = [q for q in QUESTIONS if "Mars" not in q]  # answerable ones: the composer is asked


def serve(tmp: str, name: str, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "AYUDA_DATABASE_URL": f"sqlite:///{tmp}/{name}.db", "AYUDA_CHAT_RATE_PER_USER": "",
           "AYUDA_CHAT_RATE_PER_IP": "", "AYUDA_TICKETS_PER_HOUR": "0", **extra}
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit("server did not become ready (is the index built? `make index`)")
        time.sleep(0.5)


def streamed(client: httpx.Client, message: str) -> tuple[float, float | None, float, str]:
    """(ms to the first event, ms to the first token or None, ms to the final event, its compose result)."""
    t0 = time.perf_counter()
    first = token = None
    event = ""
    with client.stream("POST", "/api/v1/chat/stream", json={"message": message},
                       headers={"X-Ayuda-User": "bench@example.com"}) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                now = (time.perf_counter() - t0) * 1000
                first = first if first is not None else now
                if event == "token" and token is None:
                    token = now
    return first or 0.0, token, (time.perf_counter() - t0) * 1000, event


def plain(client: httpx.Client, message: str) -> float:
    t0 = time.perf_counter()
    r = client.post("/api/v1/chat", json={"message": message}, headers={"X-Ayuda-User": "bench@example.com"})
    r.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def pct(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "—"
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=36, help="turns per measurement")
    parser.add_argument("--token-ms", type=float, default=20.0)
    parser.add_argument("--first-ms", type=float, default=150.0)
    args = parser.parse_args()
    questions = [ASKED[i % len(ASKED)] for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        fake.default = Reply(delay=args.first_ms / 1000, token_delay=args.token_ms / 1000, chunk_chars=4)
        runs = [("extractive", {}), ("llm", {"AYUDA_LLM_BASE_URL": fake.url, "AYUDA_LLM_MODEL": "loopback"})]
        for name, extra in runs:
            proc, base = serve(tmp, name, extra)
            try:
                with httpx.Client(base_url=base, timeout=120) as client:
                    for q in ASKED:  # warm-up: the questions' vectors are cached from here on
                        plain(client, q)
                    chat = [plain(client, q) for q in questions]
                    streams = [streamed(client, q) for q in questions]
                print(f"[{name}] POST /api/v1/chat           {pct(chat)}")
                print(f"[{name}] stream: first event        {pct([s[0] for s in streams])}")
                if name == "llm":
                    print(f"[{name}] stream: first token        {pct([s[1] for s in streams if s[1] is not None])}")
                print(f"[{name}] stream: final answer       {pct([s[2] for s in streams])}")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        print(f"loopback model: first delta after {args.first_ms:.0f} ms, 4 characters every {args.token_ms:.0f} ms; "
              f"{args.n} turns per line; results: {dict(sorted(_results(fake).items()))}")


def _results(fake: FakeLLM) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for r in fake.requests:
        key = "stream" if r.get("stream") else "json"
        kinds[key] = kinds.get(key, 0) + 1
    return kinds


if __name__ == "__main__":
    main()

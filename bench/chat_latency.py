"""/api/v1/chat latency and throughput at 1, 8 and 32 concurrent employees against a real server process.

Starts `ayuda serve` on a free loopback port with a temporary SQLite database and the current index, warms it
up with each question once, then for each level sends N turns (en/es/pt mix) from that many employees at once
and prints p50/p95/p99, turns per second, turns shed with 503 (AYUDA_MAX_CHAT_QUEUE), other errors, and CPU ms
per turn of the server and of this benchmark's own client (both on the same cores, so a busy client slows the
server; CPU per turn is also steadier than latency on a shared host); then one question repeated, and the
server's peak RSS (VmHWM, summed over its processes). Asserts nothing.
`--workers N` runs N server processes (`ayuda serve --workers`); `--cache-size 0` turns the answer cache off,
so every turn runs the whole pipeline (the warm-up still caches the question vectors); `--new-questions` makes
every turn's text new (a reference number added), so it also pays the encoders; `--golden` asks the golden
set's 510 questions (eval/golden/, real length spread) instead of the 12 short ones.
`--postgres URL` serves from a new database on that PostgreSQL server instead of SQLite.
Usage: python bench/chat_latency.py [-n 200] [--users 1 8 32] [--workers 1] [--cache-size 2048] [--new-questions]
       [--golden] [--postgres URL]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

QUESTIONS = [
    "How do I reset my password?", "¿Cómo restablezco mi contraseña?", "Como faço para redefinir minha senha?",
    "Can I see my payslips online?", "¿Puedo ver mis nóminas en línea?", "Posso ver meus contracheques online?",
    "Is the day after Christmas a holiday?", "What do I do if I spill coffee on my laptop?",
    "How do I connect to the VPN?", "How many days of annual leave do I get?",
    "How do I claim expenses?", "What is on the cafeteria menu on Mars?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of a process and its children (the worker processes of `ayuda serve --workers`)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += peak_rss_mb(int(child))
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return total + int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the worker processes of `ayuda serve --workers`)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += cpu_seconds(int(child))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return total + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def turn(client: httpx.Client, user: str, message: str) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    r = client.post("/api/v1/chat", json={"message": message}, headers={"X-Ayuda-User": user})
    ms = (time.perf_counter() - t0) * 1000
    return ms, r.status_code, r.json().get("outcome", "") if r.status_code == 200 else ""


_NEW = itertools.count(1)


def _asked(question: str, new: bool) -> str:
    # "n17", not "17": a code of four digits or more would be set aside as a reference number (app/chat/references.py)
    # and the question would no longer be new to the encoders' caches
    return f"{question} (ref n{next(_NEW)})" if new else question


def golden_questions() -> list[str]:
    """The golden set's questions (en/es/pt; eval/golden/), in a fixed shuffled order: real lengths (median 20
    tokens with e5's prompt, 10% above 36), not the 12 short ones."""
    import json
    import random

    folder = Path(__file__).resolve().parent.parent / "eval" / "golden"
    questions = [json.loads(line)["question"] for f in sorted(folder.glob("*.jsonl"))
                 for line in f.read_text().splitlines() if line.strip()]
    random.Random(7).shuffle(questions)
    return questions


def level(base: str, server: int, users: int, n: int, new: bool = False, mix: list[str] = QUESTIONS) -> None:
    """`n` turns from `users` employees at once (each sends its next question when the last one is answered).
    `new`: every text is one never asked before (a reference number added), so no cache has it. `mix`: the
    questions they ask, in turn."""
    per_user = max(1, n // users)
    start = next(_NEW)  # each level starts further on in the mix

    def text(u: int, i: int) -> str:
        if mix is QUESTIONS:  # the 12 short ones, in the order earlier figures used
            return _asked(QUESTIONS[(u + i) % len(QUESTIONS)], new)
        return _asked(mix[(start + u * per_user + i) % len(mix)], new)

    def one(u: int) -> list[tuple[float, int, str]]:
        with httpx.Client(base_url=base, timeout=120) as client:
            return [turn(client, f"bench{u}@example.com", text(u, i)) for i in range(per_user)]

    t0, cpu0, own0 = time.perf_counter(), cpu_seconds(server), time.process_time()
    with ThreadPoolExecutor(max_workers=users) as pool:
        results = [r for rs in pool.map(one, range(users)) for r in rs]
    wall = time.perf_counter() - t0
    server_ms = (cpu_seconds(server) - cpu0) * 1000 / len(results)
    client_ms = (time.process_time() - own0) * 1000 / len(results)
    ok = sorted(ms for ms, status, _ in results if status == 200)
    shed = sum(status == 503 for _, status, _ in results)
    errors = sum(status not in (200, 503) for _, status, _ in results)
    q = statistics.quantiles(ok, n=100) if len(ok) > 1 else [ok[0] if ok else float("nan")] * 99
    print(f"{users:>5} {len(results):>6} {q[49]:>8.1f} {q[94]:>8.1f} {q[98]:>8.1f} {len(ok) / wall:>8.1f} "
          f"{shed:>5} {errors:>6} {server_ms:>10.1f} {client_ms:>10.1f}", flush=True)


def repeated(base: str, n: int) -> None:
    """The same question again and again (same text, user and build): what the query-vector cache saves."""
    with httpx.Client(base_url=base, timeout=60) as client:
        turn(client, "repeat@example.com", QUESTIONS[0])
        times = sorted(turn(client, "repeat@example.com", QUESTIONS[0])[0] for _ in range(n))
    print(f"repeated question: p50 {statistics.median(times):.1f} ms, p95 "
          f"{times[min(len(times) - 1, int(0.95 * len(times)))]:.1f} ms over {n} turns")


@contextmanager
def database(postgres: str | None, tmp: str) -> Iterator[str]:
    """A SQLite file in `tmp`, or a new database on the PostgreSQL server of `postgres`, dropped afterwards."""
    if not postgres:
        yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ayuda_bench_{os.getpid()}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200, help="turns per concurrency level")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--cache-size", type=int, default=None, help="AYUDA_ANSWER_CACHE_SIZE (0: off)")
    parser.add_argument("--new-questions", action="store_true",
                        help="every turn a text never asked before: no answer or query-vector cache helps")
    parser.add_argument("--golden", action="store_true",
                        help="ask the golden set's 510 questions (real length spread) instead of the 12 short ones")
    parser.add_argument("--postgres", metavar="URL",
                        help="a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test): the "
                             "bench makes a database of its own there and drops it at the end (default: SQLite)")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, tmp) as url:
        # rate limits off: the benchmark's employees all come from one address and ask fast
        env = {**os.environ, "AYUDA_DATABASE_URL": url, "AYUDA_CHAT_RATE_PER_USER": "",
               "AYUDA_CHAT_RATE_PER_IP": "", "AYUDA_TICKETS_PER_HOUR": "0"}
        if args.cache_size is not None:
            env["AYUDA_ANSWER_CACHE_SIZE"] = str(args.cache_size)
        command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(args.workers)]
        print(f"server: {args.workers} process(es), {'PostgreSQL' if args.postgres else 'SQLite'}, answer cache "
              f"{'off' if args.cache_size == 0 else 'on'}{', new questions' if args.new_questions else ''}"
              f"{', golden questions' if args.golden else ''}", flush=True)
        server = subprocess.Popen(command, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 180
            with httpx.Client(base_url=base, timeout=60) as client:
                while True:
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.time() > deadline or server.poll() is not None:
                        raise SystemExit("server did not become ready (is the index built? `make index`)")
                    time.sleep(0.5)
                for _ in range(args.workers):  # warm-up of every process; questions and answers cached after it
                    for q in QUESTIONS:
                        turn(client, "warmup@example.com", q)
            print(f"{'users':>5} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns/s':>8} {'shed':>5} "
                  f"{'errors':>6} {'server CPU':>10} {'bench CPU':>10}")
            for users in args.users:
                level(base, server.pid, users, args.n, args.new_questions, golden_questions() if args.golden else QUESTIONS)
            repeated(base, 50)
            print(f"server peak RSS  {peak_rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

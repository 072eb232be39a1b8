"""/api/v1/chat latency over N sequential requests against a real server process, and its peak memory.

Starts `ayuda serve` on a free loopback port with a temporary SQLite database and the current index,
sends N questions (en/es/pt mix, in order), prints p50/p95/max and the server's peak RSS (VmHWM).
Usage: python bench/chat_latency.py [-n 200]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
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
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AYUDA_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env,
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
                client.post("/api/v1/chat", json={"message": QUESTIONS[0]})  # warm-up
                latencies, outcomes = [], {}
                for i in range(args.n):
                    t0 = time.perf_counter()
                    r = client.post("/api/v1/chat", json={"message": QUESTIONS[i % len(QUESTIONS)]})
                    latencies.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                    outcomes[r.json()["outcome"]] = outcomes.get(r.json()["outcome"], 0) + 1
            q = statistics.quantiles(latencies, n=100)
            print(f"requests     {args.n} sequential, outcomes {outcomes}")
            print(f"latency ms   p50 {q[49]:.1f}  p95 {q[94]:.1f}  max {max(latencies):.1f}")
            print(f"server peak RSS  {peak_rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Ayuda as real processes (`ayuda serve`, `ayuda worker`) for tests of replicas and crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One `ayuda …` process; its output goes to a log file shown when a test fails."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.log = args, log
        self._out = open(log, "ab")  # noqa: SIM115 (closed in stop)
        from tests.conftest import TEST_CACHE

        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AYUDA_")} \
            | {"AYUDA_CACHE_DIR": str(TEST_CACHE)} | env
        self.proc = subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=full_env,
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses the process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._out.close()


def serve(port: int, env: dict[str, str], log: Path) -> Process:
    return Process(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)


def wait_ready(process: Process, url: str, seconds: float = 300) -> None:
    """Until GET {url}/readyz answers 200 (the model, the index and the database are ready)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"ayuda {' '.join(process.args)} exited:\n{process.tail()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {seconds}s:\n{process.tail()}")

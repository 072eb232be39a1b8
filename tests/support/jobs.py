"""Polling a re-index job through the admin API until it ends."""

from __future__ import annotations

import time
from typing import Any


def wait_for_job(client: Any, job_id: str, headers: dict[str, str], seconds: float = 300) -> dict:
    """The job once it is no longer queued or running (done or failed); fails the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/admin/reindex/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running after {seconds}s")

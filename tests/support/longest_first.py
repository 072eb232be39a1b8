"""Test files run longest first. With `-n auto --dist loadfile --no-loadscope-reorder` pytest-xdist hands whole
files to its processes in collection order, so a long file started near the end keeps one core busy alone while
the other waits (35 s of a 5-minute run, measured). Each file's seconds in the last run it took part in are kept
in pytest's cache; a clean clone starts from `file_seconds.json` beside this module (a snapshot of one run)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).with_name("file_seconds.json")
CACHE_KEY = "ayuda/file-seconds"
_seconds: defaultdict[str, float] = defaultdict(float)


def known_seconds(config: pytest.Config) -> dict[str, float]:
    cached = config.cache.get(CACHE_KEY, None) if getattr(config, "cache", None) is not None else None
    if isinstance(cached, dict) and cached:
        return {str(k): float(v) for k, v in cached.items()}
    try:
        return {str(k): float(v) for k, v in json.loads(SNAPSHOT.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = known_seconds(config)
    # stable sort: a file's tests stay together and in their order; unknown (new) files count as long, so they go
    # early rather than last
    default = max(seconds.values(), default=0.0)
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], default))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or getattr(config, "cache", None) is None or not _seconds:
        return  # a worker: its reports reach the controller, which keeps the figures
    config.cache.set(CACHE_KEY, known_seconds(config) | {f: round(s, 2) for f, s in _seconds.items()})

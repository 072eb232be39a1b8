"""Fixtures shared by the chat tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def chat(tmp_path_factory, sample_index, embedder):  # type: ignore[no-untyped-def]
    """The real chat service over the sample index, with a new SQLite database for each test module."""
    from app.services import build_services
    from tests.conftest import make_settings

    return build_services(make_settings(tmp_path_factory.mktemp("db"), sample_index, embedder),
                          embedder=embedder).chat

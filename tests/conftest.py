"""Fixtures shared by the test files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import model.futures


@pytest.fixture
def fresh_futures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The futures reduction keeps each policy's run trees for the process; a test that mutates the core's
    programs must not leave trees built from the mutation to the tests after it."""
    monkeypatch.setattr(model.futures, "_MADE", {})


@pytest.fixture(params=["WAVESIM_POSTGRES_URL", "WAVESIM_MYSQL_URL"])
def server_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of its own on each server (skipped, naming the variable, where none is set)."""
    from tests.live_helpers import drop_database, fresh_database, server_url

    url = fresh_database(server_url(request.param))
    try:
        yield url
    finally:
        drop_database(url)

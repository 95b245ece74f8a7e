"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest

import model.futures


@pytest.fixture
def fresh_futures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The futures reduction keeps each policy's run trees for the process; a test that mutates the core's
    programs must not leave trees built from the mutation to the tests after it."""
    monkeypatch.setattr(model.futures, "_MADE", {})

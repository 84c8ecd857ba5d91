"""Fixtures for job tests: an outbox registry holding only the subscribers a test registers."""

from __future__ import annotations

import pytest

from backend.workflow import outbox


@pytest.fixture(autouse=True)
def only_test_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests register their own subscribers; the application's (e.g. orders reacting to "order.paid")
    are left out, so that what a test asserts about the outbox does not depend on other domains."""
    monkeypatch.setattr(outbox, "_registry", outbox._Registry(loaded=True))

"""Fixtures for workflow tests: settings overrides that are undone (and the settings cache cleared) after, and
an outbox registry holding only the subscribers a test registers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.settings import get_settings
from backend.workflow import outbox


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def apply(**env: object) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def only_test_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests register their own subscribers; the application's (e.g. orders reacting to "order.paid")
    are left out, so that what a test asserts about the outbox does not depend on other domains."""
    monkeypatch.setattr(outbox, "_registry", outbox._Registry(loaded=True))

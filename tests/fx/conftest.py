"""Fixtures for workflow tests: settings overrides that are undone (and the settings cache cleared) after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.settings import get_settings


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def apply(**env: object) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()

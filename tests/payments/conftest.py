"""Fixtures for payments and orders tests: a TestClient on the app with the checkout routers, the sandbox's
events routed through it, and a fake Stripe server on 127.0.0.1 (settings overrides: the root `configure`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.payments import factory, sandbox
from backend.workflow import kick
from tests.payments.support import FakeStripe, build_app, client_sender, serve_fake_stripe


@pytest.fixture
def client() -> Iterator[TestClient]:
    # A loopback peer, as a local buyer's browser: the sandbox pay page answers only this machine in tests.
    with TestClient(build_app(), client=("127.0.0.1", 50000)) as test_client:
        sandbox.set_sender(client_sender(test_client))
        yield test_client
    sandbox.set_sender(None)
    kick.wait_for_kick()


@pytest.fixture(autouse=True)
def _quiet_background() -> Iterator[None]:
    yield
    kick.wait_for_kick()
    factory.set_provider(None)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    yield from serve_fake_stripe()

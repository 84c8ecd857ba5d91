"""Fixtures for orders tests: the same as the payments tests (the app, the sandbox through it, fake Stripe)."""

from tests.payments.conftest import _quiet_background, client, fake_stripe  # noqa: F401

"""Fixtures for workflow tests: an outbox registry holding only the subscribers a test registers."""

from tests.jobs.conftest import only_test_subscribers  # noqa: F401  (autouse: applies to every test here)

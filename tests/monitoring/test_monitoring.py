"""Error log (deduplicated, scrubbed, cleaned up) and Sentry (errors and cron check-ins via a capturing Transport)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from backend.db import session_scope, utcnow
from backend.monitoring.errors import error_page, purge_errors, record_error
from backend.monitoring.scrub import scrub_context, scrub_text
from backend.monitoring.sentry import init_sentry
from jobs.runner import run_once


class CapturingTransport(Transport):
    def __init__(self, options=None):  # type: ignore[no-untyped-def]
        super().__init__(options)
        self.envelopes: list = []

    def capture_envelope(self, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)

    def items(self, kind: str) -> list[dict]:
        return [item.payload.json for env in self.envelopes for item in env.items if item.type == kind]


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    assert init_sentry("https://public@sentry.example.invalid/1", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def test_scrubbing_removes_secrets_and_personal_data() -> None:
    text = scrub_text(
        "user jane.doe@example.com sent api_key=sk_live_abc123 Bearer eyJhbGciOi.eyJzdWIi.sig "
        "from 0x52908400098527886E0F7030069857D2E4169EE7 via postgresql://admin:hunter2@db/prod "
        "token ab12cd34ef56ab12cd34ef56ab12cd34ef56"
    )
    for secret in ("jane.doe", "sk_live_abc123", "eyJhbGciOi", "52908400098527886E0F", "hunter2",
                   "ab12cd34ef56ab12cd34ef56"):
        assert secret not in text
    assert scrub_text("order 12345 failed") == "order 12345 failed"
    context = scrub_context({"email": "a@b.co", "order_id": 5, "note": "call x@y.org",
                             "headers": {"Authorization": "x"}})
    assert context == {"email": "[redacted]", "order_id": 5, "note": "call [email]",
                       "headers": {"Authorization": "[redacted]"}}


def test_same_error_is_counted_not_repeated() -> None:
    for n in range(3):
        try:
            raise TimeoutError(f"rpc call {n} timed out for bob@example.com")
        except TimeoutError as exc:
            record_error("daemon:tx_monitor", exc, {"attempt": n, "password": "pw"})
    record_error("daemon:tx_monitor", ValueError("other"))
    entries, total = error_page()
    assert total == 2
    timeout = next(e for e in entries if e.exc_type == "TimeoutError")
    assert timeout.count == 3
    assert "bob@example.com" not in timeout.message
    assert timeout.context == {"attempt": 2, "password": "[redacted]"}


def test_old_errors_are_cleaned_up() -> None:
    record_error("daemon:x", RuntimeError("old"), now=utcnow() - timedelta(days=40))
    record_error("daemon:x", KeyError("new"))
    with session_scope() as session:
        assert purge_errors(session, timedelta(days=30), 100) == 1
    assert [e.exc_type for e in error_page()[0]] == ["KeyError"]


def test_daemon_runs_send_cron_checkins_and_errors_to_sentry(sentry: CapturingTransport) -> None:
    run_once("fx_rate_refresher", lambda ctx: 1, holder="r1", lease_s=5, every_s=60)

    def boom(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret=shh broke")

    run_once("outbox_relay", boom, holder="r1", lease_s=5, every_s=5)
    sentry_sdk.flush()
    checkins = [(c["monitor_slug"], c["status"]) for c in sentry.items("check_in")]
    assert checkins == [("fx_rate_refresher", "in_progress"), ("fx_rate_refresher", "ok"),
                        ("outbox_relay", "in_progress"), ("outbox_relay", "error")]
    [event] = sentry.items("event")
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert "user" not in event

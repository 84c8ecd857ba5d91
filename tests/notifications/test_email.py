"""Email delivery: queued in the caller's transaction, sent once by the email_sender's pass through smtplib to a
real SMTP server on 127.0.0.1, retried on temporary failures, failed (and logged) on refusals, kept in the
development mailbox when no server is configured, and never keeping a sign-in link once delivered or given up."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.api.app import create_api
from backend.auth.links import request_password_link
from backend.db import session_scope, utcnow
from backend.monitoring.models import ErrorLogEntry
from backend.notifications.mailer import SmtpMailer, set_mailer
from backend.notifications.models import EmailStatus, OutboundEmail
from backend.notifications.service import BLANKED, queue_email, send_due
from tests.factories import make_user
from tests.notifications.smtp_server import PASSWORD, USER, SmtpServer, serve_smtp


@pytest.fixture
def smtp(configure) -> Iterator[SmtpServer]:  # type: ignore[no-untyped-def]
    for server in serve_smtp():
        configure(SMTP_URL=server.url, EMAIL_FROM="Primsell <no-reply@primsell.test>")
        yield server


@pytest.fixture(autouse=True)
def _real_mailer() -> Iterator[None]:
    set_mailer(None)
    yield
    set_mailer(None)


def _queue(key: str = "order-paid:1", *, to: str = "cleo@example.com", sensitive: bool = False,
           body: str = "Your order is paid: http://localhost:3000/o/abc") -> bool:
    with session_scope() as session:
        return queue_email(session, key=key, kind="order_paid", to=to, subject="Your Primsell order",
                           body=body, user_id=7, sensitive=sensitive)


def _row(key: str = "order-paid:1") -> OutboundEmail:
    with session_scope() as session:
        row = session.execute(select(OutboundEmail).where(OutboundEmail.key == key)).scalars().one()
        session.expunge(row)
        return row


def test_a_queued_email_is_sent_once_through_smtp(smtp: SmtpServer) -> None:
    assert _queue() and not _queue()  # the same key again queues nothing
    assert send_due() == 1 and send_due() == 0
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert (mail["To"], mail["From"], mail["Subject"]) == (
        "cleo@example.com", "Primsell <no-reply@primsell.test>", "Your Primsell order")
    assert "http://localhost:3000/o/abc" in mail.get_payload()
    row = _row()
    assert row.status is EmailStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_a_delivered_sign_in_link_is_not_kept_in_the_database(smtp: SmtpServer) -> None:
    _queue(sensitive=True, body="Set your password: http://localhost:3000/account/set-password?token=SECRET")
    send_due()
    assert "token=SECRET" in smtp.received[0].get_payload()
    assert _row().body_text == BLANKED


def test_a_set_password_link_that_could_not_be_delivered_is_not_readable_from_the_table(smtp: SmtpServer) -> None:
    """A reset link whose delivery failed for good stays live for its lifetime: the row must not hold it either."""
    make_user(email="has@example.com")
    request_password_link("has@example.com", ip="10.0.0.9")
    smtp.refuse_with = ["550 5.2.2 mailbox full"]
    send_due()
    with session_scope() as session:
        row = session.execute(select(OutboundEmail).where(OutboundEmail.kind == "password_link")).scalars().one()
    assert row.status is EmailStatus.FAILED and "550" in row.last_error
    assert "token=" not in row.body_text and row.body_text == BLANKED


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_fails_and_is_logged(smtp: SmtpServer) -> None:
    _queue("a", to="busy@example.com")
    _queue("b", to="nobody@example.com")
    smtp.refuse_with = ["451 4.3.0 try again later", "550 5.1.1 no such user"]
    send_due()
    busy, nobody = _row("a"), _row("b")
    assert busy.status is EmailStatus.QUEUED and "451" in busy.last_error and busy.next_attempt_at > utcnow()
    assert nobody.status is EmailStatus.FAILED and "550" in nobody.last_error
    with session_scope() as session:
        assert session.execute(select(ErrorLogEntry.source)).scalars().all() == ["email:failed"]
    assert send_due() == 0  # not due yet
    assert send_due(now=utcnow() + timedelta(hours=1)) == 1
    assert _row("a").status is EmailStatus.SENT and [m["To"] for m in smtp.received] == ["busy@example.com"]


def test_an_unreachable_server_keeps_the_email_queued(configure) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    configure(SMTP_URL=f"smtp://127.0.0.1:{port}", SMTP_TIMEOUT_SECONDS=2)
    _queue()
    assert send_due() == 0
    row = _row()
    assert row.status is EmailStatus.QUEUED and "unreachable" in row.last_error


def test_an_smtp_outage_backs_off_without_spending_the_attempts_and_sends_once_when_it_is_back(configure) -> None:  # type: ignore[no-untyped-def]
    """Unreachable twice as many times as EMAIL_MAX_ATTEMPTS allows: still queued, each retry later than the one
    before; the server comes back on its address and the message goes out once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here until the server starts
    configure(SMTP_URL=f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}", SMTP_TIMEOUT_SECONDS=2, EMAIL_MAX_ATTEMPTS=2,
              OUTBOX_BACKOFF_BASE_SECONDS=1, OUTBOX_BACKOFF_MAX_SECONDS=3600)
    _queue()
    now, delays = utcnow(), []
    for _ in range(4):
        assert send_due(now=now) == 0
        row = _row()
        assert row.status is EmailStatus.QUEUED and "unreachable" in row.last_error
        delays.append(round((row.next_attempt_at - now).total_seconds()))
        assert send_due(now=now) == 0  # not due again before its back-off
        now = row.next_attempt_at
    assert delays == [1, 2, 4, 8]  # OUTBOX_BACKOFF_BASE_SECONDS doubled at each attempt
    assert (row.attempts, row.unreachable_attempts) == (4, 4)
    for server in serve_smtp(port):
        assert send_due(now=now) == 1
        assert _row().status is EmailStatus.SENT and len(server.received) == 1
        assert send_due(now=now + timedelta(hours=2)) == 0


def test_attempts_that_reach_the_server_still_spend_the_budget(smtp: SmtpServer, configure) -> None:  # type: ignore[no-untyped-def]
    configure(EMAIL_MAX_ATTEMPTS=2)
    _queue()
    smtp.refuse_with += ["451 4.3.0 try later", "451 4.3.0 try later"]
    assert send_due() == 0
    assert send_due(now=utcnow() + timedelta(hours=2)) == 1  # the second temporary refusal: the budget is spent
    row = _row()
    assert (row.status, row.attempts, row.unreachable_attempts) == (EmailStatus.FAILED, 2, 0)


def test_wrong_smtp_credentials_are_retried_and_never_quoted(smtp: SmtpServer, configure, caplog) -> None:  # type: ignore[no-untyped-def]
    configure(SMTP_URL=smtp.url.replace(PASSWORD, "wrong-password-xyz"))
    caplog.set_level(logging.DEBUG)
    _queue()
    send_due()
    row = _row()
    assert row.status is EmailStatus.QUEUED and row.last_error  # retried: credentials get fixed, mail waits
    assert "wrong-password-xyz" not in caplog.text and "wrong-password-xyz" not in row.last_error
    assert "wrong-password-xyz" not in repr(SmtpMailer(smtp.url.replace(PASSWORD, "wrong-password-xyz"), timeout_s=1))


def test_without_smtp_the_email_is_kept_in_the_development_mailbox() -> None:
    _queue(body="Your order: http://localhost:3000/o/abc <b>not html</b>")
    assert send_due() == 1
    assert _row().status is EmailStatus.KEPT
    with TestClient(create_api(), client=("127.0.0.1", 50000)) as client:  # the mailbox answers loopback
        page = client.get("/api/dev/mailbox")
    assert page.status_code == 200
    assert '<a href="http://localhost:3000/o/abc">' in page.text and "&lt;b&gt;not html&lt;/b&gt;" in page.text


def test_the_mailbox_does_not_exist_when_smtp_is_configured(smtp: SmtpServer) -> None:
    with TestClient(create_api(), client=("127.0.0.1", 50000)) as client:  # the mailbox answers loopback
        assert client.get("/api/dev/mailbox").status_code == 404

"""Queue an email in the caller's transaction (`queue_email`), deliver what is due (`send_due`, the email_sender
daemon's work), and read the development mailbox.

Delivery is at least once: a sender that dies after the SMTP server accepted a message but before marking it sent
leaves it to be sent again after SENDING_TIMEOUT. The SMTP call happens between transactions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import delete, select, update
from sqlmodel import Session

from backend.db import session_scope, utcnow
from backend.monitoring.errors import record_error
from backend.notifications.mailer import MailError, get_mailer
from backend.notifications.models import EmailStatus, OutboundEmail
from backend.settings import get_settings
from backend.workflow.outbox import backoff
from backend.workflow.sql import claim_batch, insert_ignore

log = logging.getLogger(__name__)

SENDING_TIMEOUT = timedelta(minutes=5)
BLANKED = "(removed once delivered or given up: it carried a sign-in link)"


def queue_email(session: Session, *, key: str, kind: str, to: str, subject: str, body: str,
                user_id: int | None = None, sensitive: bool = False) -> bool:
    """Queue one message in `session`'s transaction; False if a message with this key exists already."""
    now = utcnow()
    return insert_ignore(session, OutboundEmail.__table__, {
        "key": key[:200], "kind": kind[:40], "user_id": user_id, "to_address": to[:320], "subject": subject[:200],
        "body_text": body, "sensitive": sensitive, "status": EmailStatus.QUEUED, "attempts": 0,
        "next_attempt_at": now, "last_error": "", "created_at": now, "sent_at": None,
    }, ["key"]) > 0


def last_queued_at(session: Session, *, kind: str, user_id: int) -> datetime | None:
    """When the user was last sent a message of this kind (for "at most one a minute" rules)."""
    return session.execute(select(OutboundEmail.created_at).where(
        OutboundEmail.kind == kind, OutboundEmail.user_id == user_id)
        .order_by(OutboundEmail.id.desc()).limit(1)).scalar_one_or_none()  # type: ignore[union-attr]


def _message(row: OutboundEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = make_msgid(idstring=f"primsell-{row.id}")
    message.set_content(row.body_text)
    return message


def send_due(*, limit: int | None = None, now: datetime | None = None) -> int:
    """Deliver up to `limit` due messages; returns how many were handled (sent, kept or failed for good)."""
    settings = get_settings()
    limit = limit or settings.email_batch_size
    now = now or utcnow()
    with session_scope() as session:
        rows = [r[0] for r in claim_batch(session, select(OutboundEmail).where(
            OutboundEmail.status.in_([EmailStatus.QUEUED, EmailStatus.SENDING]), OutboundEmail.next_attempt_at <= now)  # type: ignore[attr-defined]
            .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id), limit, of=OutboundEmail)]
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = EmailStatus.SENDING, row.attempts + 1, now + SENDING_TIMEOUT
            session.add(row)
        session.flush()
        for row in rows:
            session.expunge(row)
    mailer = get_mailer() if rows else None
    handled = 0
    for row in rows:
        if mailer is None:
            _finish(row, EmailStatus.KEPT, now)
            handled += 1
            continue
        try:
            mailer.send(_message(row, settings.email_from))
        except MailError as exc:
            handled += _failed(row, exc, now, settings.email_max_attempts)
            continue
        _finish(row, EmailStatus.SENT, now)
        handled += 1
    return handled


def _scrubbed(row: OutboundEmail, status: EmailStatus) -> dict[str, object]:
    """The body to store once a message is final: a sensitive one (a sign-in, password or invitation link) is blanked
    when it was sent or failed for good, so that its live link is not left readable in the table (a backup, a support
    query) for the link's lifetime. Kept messages keep it: they exist only without an SMTP server (development;
    production refuses to start without one), where the development mailbox is how the link is followed."""
    if row.sensitive and status in (EmailStatus.SENT, EmailStatus.FAILED):
        return {"body_text": BLANKED}
    return {}


def _finish(row: OutboundEmail, status: EmailStatus, now: datetime) -> None:
    values: dict[str, object] = {"status": status, "sent_at": now, "last_error": "", **_scrubbed(row, status)}
    with session_scope() as session:
        session.execute(update(OutboundEmail).where(OutboundEmail.id == row.id,
                                                    OutboundEmail.status == EmailStatus.SENDING).values(**values))


def _failed(row: OutboundEmail, exc: MailError, now: datetime, max_attempts: int) -> int:
    """A failed attempt: queued again after a back-off (growing with every attempt), or failed for good when the
    address was refused or EMAIL_MAX_ATTEMPTS attempts reached the server (an unreachable one spends none)."""
    unreachable = row.unreachable_attempts + int(exc.unreachable)
    give_up = not exc.retryable or row.attempts - unreachable >= max_attempts
    settings = get_settings()
    status = EmailStatus.FAILED if give_up else EmailStatus.QUEUED
    with session_scope() as session:
        session.execute(update(OutboundEmail).where(
            OutboundEmail.id == row.id, OutboundEmail.status == EmailStatus.SENDING).values(
            status=status, last_error=str(exc)[:500], unreachable_attempts=unreachable,
            next_attempt_at=now + backoff(row.attempts, settings.outbox_backoff_base_s, settings.outbox_backoff_max_s),
            **_scrubbed(row, status)))
    if give_up:  # the address only, never the body (it may carry a link)
        record_error("email:failed", exc, {"email_id": row.id, "kind": row.kind})
    else:
        log.warning("email %s: %s; trying again later", row.id, exc)
    return int(give_up)


DEV_MAILBOX_PATH = "/api/dev/mailbox"


def dev_mailbox_active() -> bool:
    """Development without an SMTP server: email stays in the local mailbox page."""
    settings = get_settings()
    return not settings.is_production and settings.smtp_url is None


def dev_mailbox_url() -> str:
    """Where the development mailbox is, for pages to point at; "" where email really goes out."""
    return DEV_MAILBOX_PATH if dev_mailbox_active() else ""


@dataclass(frozen=True)
class MailboxEntry:
    id: int
    to_address: str
    subject: str
    body_text: str
    status: str
    created_at: datetime


def mailbox(*, limit: int = 50, to: str | None = None) -> list[MailboxEntry]:
    """The newest messages, for the development mailbox page (never served in production)."""
    query = select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(min(max(limit, 1), 200))  # type: ignore[union-attr]
    if to:
        query = query.where(OutboundEmail.to_address == to.strip().lower())
    with session_scope() as session:
        return [MailboxEntry(r.id, r.to_address, r.subject, r.body_text, r.status.value, r.created_at)  # type: ignore[arg-type]
                for r in session.execute(query).scalars()]


def purge_emails(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Retention: delete messages delivered, kept or failed longer ago than `older_than` (queued ones stay)."""
    cutoff = (now or utcnow()) - older_than
    ids = session.execute(select(OutboundEmail.id).where(
        OutboundEmail.created_at < cutoff,
        OutboundEmail.status.in_([EmailStatus.SENT, EmailStatus.KEPT, EmailStatus.FAILED]))  # type: ignore[attr-defined]
        .order_by(OutboundEmail.id).limit(limit)).scalars().all()  # type: ignore[arg-type]
    if ids:
        session.execute(delete(OutboundEmail).where(OutboundEmail.id.in_(ids)))  # type: ignore[union-attr]
    return len(ids)

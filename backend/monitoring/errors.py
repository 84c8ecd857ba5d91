"""Record failures in the error log (deduplicated by fingerprint, scrubbed) and forward them to Sentry."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from backend.db import session_scope, utcnow
from backend.monitoring import sentry
from backend.monitoring.models import ErrorLogEntry
from backend.monitoring.scrub import scrub_context, scrub_text
from backend.workflow.sql import upsert

log = logging.getLogger(__name__)

_VOLATILE = re.compile(r"\d+")


def fingerprint(source: str, exc_type: str, message: str, brand_id: int | None = None) -> str:
    """Same source, type, message shape (numbers ignored) and brand -> same row."""
    shape = _VOLATILE.sub("#", message)[:300]
    brand = "" if brand_id is None else f"\x00brand:{brand_id}"
    return hashlib.sha256(f"{source}\x00{exc_type}\x00{shape}{brand}".encode()).hexdigest()


def record_error(
    source: str,
    exc: BaseException,
    context: Mapping[str, Any] | None = None,
    *,
    session: Session | None = None,
    now: datetime | None = None,
    report: bool = True,
) -> None:
    """Count `exc` under `source` ("daemon:<job>", "request:<route>", "subscriber:<name>").

    Without a session it writes in its own transaction (so it survives the caller's rollback) and never
    raises: logging a failure must not cause another one. The brand it is about comes from the context
    (`brand_id`, `order_id`, `campaign_id` or `entity`: backend/workflow/ownership.py).
    """
    exc_type = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")[:120]
    message = scrub_text(str(exc) or exc_type)
    clean = scrub_context(context)
    now = now or utcnow()
    if report:
        sentry.capture_exception(exc, source=source, context=clean)
    if session is not None:
        values, update = _row(source, exc_type, message, clean, now, _brand(session, context))
        upsert(session, ErrorLogEntry.__table__, values, ["fingerprint"], update)
        return
    try:
        with session_scope() as own:
            values, update = _row(source, exc_type, message, clean, now, _brand(own, context))
            upsert(own, ErrorLogEntry.__table__, values, ["fingerprint"], update)
    except Exception:  # the error log is best effort; the original error is already raised
        log.exception("could not record error from %s", source)


def _brand(session: Session, context: Mapping[str, Any] | None) -> int | None:
    from backend.workflow.ownership import brand_from_context

    try:
        with session.begin_nested():  # a failed lookup must not spoil the caller's transaction
            return brand_from_context(session, context)
    except Exception:  # attribution is best effort: unattributed rows are for platform admins
        log.warning("could not attribute an error to a brand", exc_info=True)
        return None


def _row(source: str, exc_type: str, message: str, clean: dict[str, Any], now: datetime,
         brand_id: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {
        "fingerprint": fingerprint(source, exc_type, message, brand_id),
        "brand_id": brand_id,
        "source": source[:120],
        "exc_type": exc_type,
        "message": message,
        "context": clean,
        "count": 1,
        "first_seen": now,
        "last_seen": now,
    }
    update = {
        "count": ErrorLogEntry.__table__.c.count + 1,
        "last_seen": now,
        "message": message,
        "context": clean,
    }
    return values, update


def error_page(*, limit: int = 50, offset: int = 0, session: Session | None = None,
               brand_ids: list[int] | None = None) -> tuple[list[ErrorLogEntry], int]:
    """Newest first, and the total count (for paging). `brand_ids`: only rows about those brands (None: all)."""
    limit = max(1, min(limit, 200))
    where = [] if brand_ids is None else [ErrorLogEntry.brand_id.in_(brand_ids)]  # type: ignore[union-attr]

    def _read(s: Session) -> tuple[list[ErrorLogEntry], int]:
        rows = s.execute(
            select(ErrorLogEntry).where(*where)
            .order_by(ErrorLogEntry.last_seen.desc(), ErrorLogEntry.id.desc())  # type: ignore[union-attr]
            .limit(limit).offset(max(0, offset))
        ).scalars().all()
        total = s.execute(select(func.count()).select_from(ErrorLogEntry).where(*where)).scalar_one()
        return list(rows), int(total)

    if session is not None:
        return _read(session)
    with session_scope() as s:
        return _read(s)


def purge_errors(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Delete up to `limit` entries not seen for `older_than`."""
    cutoff = (now or utcnow()) - older_than
    ids = session.execute(
        select(ErrorLogEntry.id).where(ErrorLogEntry.last_seen < cutoff).order_by(ErrorLogEntry.id).limit(limit)
    ).scalars().all()
    if not ids:
        return 0
    session.execute(delete(ErrorLogEntry).where(ErrorLogEntry.id.in_(ids)))  # type: ignore[union-attr]
    return len(ids)

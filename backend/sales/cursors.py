"""A poller's walk through one source's feed of one collection, kept in `sales_cursor`.

A walk reads from the newest event seen less the look-back window (late and dropped events are caught by the
overlap; the ledger makes re-reading free) up to now, over as many runs as it takes: while it is unfinished its
paging cursor is kept. The high-water mark moves only when a walk ends, so a walk cut short never skips a gap.
A newest-first walk given up on a failing cursor leaves its older part unread: that part is walked next, on its own
(`before`), and the mark moves only once it is done (see `Walk.fail_cursor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.db import session_scope
from backend.sales.models import SalesCursor
from backend.workflow.sql import upsert

# Consecutive failed reads of one cursor before the walk is given up.
MAX_CURSOR_FAILURES = 3


@dataclass
class Walk:
    source: str
    collection: str
    source_ref: str | None = None
    cursor: str | None = None
    after: datetime | None = None
    before: datetime | None = None  # set only while the older part of a given-up newest-first walk is walked
    high: datetime | None = None
    low: datetime | None = None
    failures: int = 0
    last_event_at: datetime | None = None
    not_before: datetime | None = None
    events_seen: int = 0
    error: str = ""
    finished: bool = False
    newest_first: bool = False

    def start(self, lookback_s: int) -> None:
        """Begin a walk unless one is under way: from the high-water mark less the look-back window."""
        if self.cursor is None:
            if self.before is None:
                self.after = self.last_event_at - timedelta(seconds=lookback_s) if self.last_event_at else None
                self.high = None
            self.low = None

    def see(self, at: datetime) -> None:
        self.events_seen += 1
        if self.high is None or at > self.high:
            self.high = at
        if self.low is None or at < self.low:
            self.low = at

    def passed(self, at: datetime) -> None:
        """The walk read past an event that is not a sale of ours (a shared slug's other contract): no sale seen and
        no mark moved, but a walk given up after it must know its older part starts there."""
        if self.low is None or at < self.low:
            self.low = at

    def finish(self) -> None:
        if self.high is not None and (self.last_event_at is None or self.high > self.last_event_at):
            self.last_event_at = self.high
        self.cursor, self.after, self.before, self.high, self.low = None, None, None, None, None
        self.failures, self.finished = 0, True

    def fail_cursor(self, message: str) -> bool:
        """A read of the current cursor failed; True if the walk is given up (too many failures in a row)."""
        self.failures += 1
        self.error = message
        if self.failures < MAX_CURSOR_FAILURES:
            return False
        if self.newest_first and self.before is None and self.low is not None:
            # Newest first, what is left unread is the older history after..low: finishing would move the mark past
            # it for good. Walk just that range afresh (a new cursor may well pass where this one failed), keeping
            # `high` so the mark moves once it is done. A second of overlap whatever `before` includes: re-reading
            # is free.
            self.error = f"{message}; gave up this walk after {self.failures} failures: its older part is read next"
            self.cursor, self.before, self.low, self.failures = None, self.low + timedelta(seconds=1), None, 0
            return True
        if self.before is not None:
            # Only once: new sales wait while the older part is walked, so a point that keeps failing must not hold
            # them for ever. The loss is said plainly (the chain indexer still reads the Seaport fills among them).
            since = f"{self.after:%Y-%m-%d %H:%M:%S}" if self.after else "the start of the feed"
            self.error = (f"{message}; gave up the older part after {self.failures} failures too: sales from {since} "
                          f"to {self.before:%Y-%m-%d %H:%M:%S} UTC are not read from this source")
        else:
            # Oldest first, what is left unread is newer than `high`, where the next walk starts; a walk that saw
            # nothing moves no mark.
            self.error = f"{message}; gave up this walk after {self.failures} failures (the next one overlaps it)"
        self.finish()
        return True


def load_walk(source: str, collection: str, *, newest_first: bool = False) -> Walk:
    with session_scope() as session:
        row = session.execute(select(SalesCursor).where(SalesCursor.source == source,
                                                        SalesCursor.collection == collection)).scalars().first()
        if row is None:
            return Walk(source, collection, newest_first=newest_first)
        return Walk(source, collection, source_ref=row.source_ref, cursor=row.cursor, after=row.walk_after,
                    before=row.walk_before, high=row.walk_high, low=row.walk_low, failures=row.cursor_failures,
                    last_event_at=row.last_event_at, not_before=row.not_before, newest_first=newest_first)


def save_walk(walk: Walk, now: datetime) -> None:
    values = {
        "source_ref": walk.source_ref, "cursor": walk.cursor, "walk_after": walk.after, "walk_before": walk.before,
        "walk_high": walk.high, "walk_low": walk.low, "cursor_failures": walk.failures,
        "last_event_at": walk.last_event_at, "last_run_at": now, "last_error": walk.error[:500], "updated_at": now,
    }
    with session_scope() as session:
        upsert(session, SalesCursor.__table__,
               values | {"source": walk.source, "collection": walk.collection, "events_seen": walk.events_seen},
               ["source", "collection"],
               values | {"events_seen": SalesCursor.__table__.c.events_seen + walk.events_seen})


def note_failed_run(source: str, collection: str, now: datetime, error: str) -> None:
    """A run of this collection failed past the source (its reports could not be stored, say): record when and why,
    so it takes its turn behind the others next time, and leave the walk where it was (its events are read again)."""
    values = {"last_run_at": now, "last_error": error[:500], "updated_at": now}
    with session_scope() as session:
        upsert(session, SalesCursor.__table__,
               values | {"source": source, "collection": collection, "events_seen": 0, "cursor_failures": 0},
               ["source", "collection"], values)


def hold_source(source: str, until: datetime, reason: str) -> None:
    """The source asked us to wait (Retry-After): every collection's cursor of it waits, in every process."""
    with session_scope() as session:
        session.execute(update(SalesCursor).where(SalesCursor.source == source)
                        .values(not_before=until, last_error=reason[:500]).execution_options(synchronize_session=False))

"""One engine and session factory for the whole backend, plus the column types every model shares.

SQLite is the embedded default (WAL journal, foreign keys on, writers wait up to 30 s instead of failing);
PostgreSQL is used when DATABASE_URL says so. Nothing here creates tables: migrations do that
(`python -m backend migrate`).

SQLite writers (every transaction: BEGIN IMMEDIATE) queue in two stages. Inside a process they queue on a
lock (threads are served in turn, and only one of them polls SQLite); between processes the one waiting
thread polls BEGIN IMMEDIATE every millisecond. SQLite's own busy handler sleeps up to 100 ms between tries,
so under load a waiter kept missing short gaps between another process's transactions (webhook p99 of
seconds behind the outbox relay).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, event, types
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from backend.settings import get_settings

_engine: Engine | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone: store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: use backend.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


SQLITE_BUSY_TIMEOUT_S = 30.0
_SQLITE_POLL_S = 0.001
_write_gates: weakref.WeakSet[_WriteGate] = weakref.WeakSet()


class _WriteGate:
    """One engine's in-process writer queue: held from BEGIN IMMEDIATE until COMMIT/ROLLBACK/close."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        _write_gates.add(self)


def _reset_gates_after_fork() -> None:
    for gate in list(_write_gates):  # a lock held by a thread of the parent would never be released here
        gate.lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_gates_after_fork)


class _SQLiteConnection(sqlite3.Connection):
    """A pysqlite connection that gives its engine's write gate back when its transaction ends."""

    gate: _WriteGate | None = None
    holds_gate = False

    def _give_back(self) -> None:
        if self.holds_gate:
            self.holds_gate = False
            self.gate.lock.release()  # type: ignore[union-attr]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def _begin_immediate(raw: _SQLiteConnection) -> None:
    """Take the engine's gate, then SQLite's write lock, within SQLITE_BUSY_TIMEOUT_S in all."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    gate = raw.gate
    if gate is not None and not raw.holds_gate:
        if not gate.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        raw.holds_gate = True
    try:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                        raise
                time.sleep(_SQLITE_POLL_S)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    except BaseException:
        raw._give_back()
        raise


def _configure_sqlite(engine: Engine) -> None:
    gate = _WriteGate()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; take control so that BEGIN IMMEDIATE works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if isinstance(dbapi_connection, _SQLiteConnection):
            dbapi_connection.gate = gate

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers serialise at BEGIN instead of failing later on lock upgrade (SQLITE_BUSY mid-transaction).
        raw = connection.connection.dbapi_connection
        if isinstance(raw, _SQLiteConnection):
            _begin_immediate(raw)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def build_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S,
                                                  "factory": _SQLiteConnection})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_after_idle(engine)
    return engine


# A pooled PostgreSQL connection is pinged (SELECT 1) before use only when it sat in the pool for longer than this.
# SQLAlchemy's pool_pre_ping pings at every check-out: a round trip and some CPU per transaction (bench/redeem.py on
# PostgreSQL: 252 -> 303 redeems/s without it), to learn what the connection's last use a moment ago showed. A
# connection the server drops sooner fails its statement (the request answers 500 or 503, a daemon's tick is tried
# again); SQLAlchemy then invalidates the whole pool, so the next check-outs connect afresh.
PING_AFTER_IDLE_S = 1.0


def _ping_after_idle(engine: Engine) -> None:
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool then replaces this connection with a new one
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = build_engine(get_settings().effective_database_url)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Swap the process-wide engine (tests, CLI `--database-url`)."""
    global _engine
    if _engine is not None and _engine is not engine:
        _engine.dispose()
    _engine = engine


def is_postgresql(engine: Engine | None = None) -> bool:
    return (engine or get_engine()).dialect.name == "postgresql"


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def enum_type(enum_cls: type) -> types.Enum:
    """Store an Enum by its value as VARCHAR with a CHECK constraint listing the allowed values.

    Portable (no PostgreSQL ENUM type). Adding a member later needs a migration that replaces the CHECK
    constraint: autogenerate does not notice, but the first insert of the new value in the tests will.
    """
    return types.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )

"""Portable SQL building blocks for queues and leases: database time, `claim_batch`, insert-or-ignore/upsert.

PostgreSQL claims with `FOR UPDATE SKIP LOCKED`; SQLite needs nothing more because every transaction there
starts with BEGIN IMMEDIATE (see backend.db), which already makes one writer at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from backend.db import utcnow


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def db_now(session: Session) -> datetime:
    """The database's clock on PostgreSQL (runners on several machines agree on one clock); local on SQLite."""
    if dialect_name(session) == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    return utcnow()


def claim_batch(session: Session, query: Select[Any], limit: int, *, of: Any = None) -> list[Any]:
    """Claim up to `limit` rows of `query` for this transaction; two workers never get the same row.

    Returns scalars when the query selects one thing, rows otherwise. The claim lasts until the session's
    transaction ends, so do the work and mark the rows done before committing.
    """
    if limit <= 0:
        return []
    stmt = query.limit(limit)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=of)
    result = session.execute(stmt)
    if len(stmt.selected_columns) == 1:
        return list(result.scalars().all())
    return list(result.all())


def _insert(session: Session, table: Any) -> Any:
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(session: Session, table: Any, values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                  index_elements: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns how many rows were inserted."""
    # Core execution on the session's connection: the ORM's bulk path does not report rowcount. Counted with
    # RETURNING: psycopg reports no rowcount for INSERT ... ON CONFLICT through SQLAlchemy. The rows go as
    # parameters, not in the statement: its compiled form is cached (a `.values([...])` is compiled each time).
    if isinstance(values, Mapping):
        values = [values]
    if not values:
        return 0
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(index_elements)).returning(
        table.c[index_elements[0]])
    return len(session.connection().execute(stmt, list(values)).all())


def upsert(session: Session, table: Any, values: Mapping[str, Any], index_elements: Sequence[str],
           update: Mapping[str, Any]) -> None:
    """INSERT ... ON CONFLICT (index_elements) DO UPDATE SET update; `update` may use `excluded(name)`."""
    stmt = _insert(session, table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=list(index_elements), set_=dict(update))
    session.connection().execute(stmt)

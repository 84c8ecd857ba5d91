"""How the web app writes values for people: times in UTC (one format per kind, and it says UTC), long hexadecimal
hashes and addresses shortened for a table cell. Amounts are backend.money.money_text's."""

from __future__ import annotations

from datetime import UTC, datetime

DATE = "%Y-%m-%d"
TIME, TIME_SECONDS = "%H:%M UTC", "%H:%M:%S UTC"
# What an <input type="datetime-local"> holds (the forms read it back as UTC).
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

Moment = datetime | str | None


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime: naive values are UTC already (the columns store naive UTC), and SQLite's aggregates
    come back as ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _write(value: Moment, pattern: str) -> str:
    return as_utc(value).strftime(pattern) if value else ""


def utc_date(value: Moment) -> str:
    """2026-12-06 ("" for no value)."""
    return _write(value, DATE)


def utc_time(value: Moment, *, seconds: bool = False) -> str:
    """14:05 UTC, or 14:05:09 UTC."""
    return _write(value, TIME_SECONDS if seconds else TIME)


def utc_datetime(value: Moment, *, seconds: bool = False) -> str:
    """2026-12-06 14:05 UTC, or 2026-12-06 14:05:09 UTC where seconds matter (logs, timelines, daemon runs)."""
    return _write(value, f"{DATE} {TIME_SECONDS if seconds else TIME}")


def datetime_local(value: Moment) -> str:
    """The value of a datetime-local input: 2026-12-06T14:05 (UTC)."""
    return _write(value, DATETIME_LOCAL)


def short_hex(value: str | None, keep: int = 6) -> str:
    """0x1234ab…cdef: hashes and addresses fit a table cell; the full value goes in a title attribute."""
    if not value:
        return ""
    return value if len(value) <= 2 + 2 * keep else f"{value[:2 + keep]}…{value[-keep:]}"

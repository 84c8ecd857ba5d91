"""The web app writes every time in UTC, one format per kind, whatever the value's own zone or type."""

from datetime import UTC, datetime, timedelta, timezone

from primsell.format import datetime_local, short_hex, utc_date, utc_datetime, utc_time

NAIVE = datetime(2026, 12, 6, 14, 5, 9)  # the columns hold naive UTC
PARIS = datetime(2026, 12, 6, 15, 5, 9, tzinfo=timezone(timedelta(hours=1)))


def test_times_are_written_in_utc_and_say_so() -> None:
    for value in (NAIVE, NAIVE.replace(tzinfo=UTC), PARIS, "2026-12-06 14:05:09"):  # text: SQLite's aggregates
        assert utc_datetime(value) == "2026-12-06 14:05 UTC"
        assert utc_datetime(value, seconds=True) == "2026-12-06 14:05:09 UTC"
        assert utc_time(value) == "14:05 UTC"
        assert utc_time(value, seconds=True) == "14:05:09 UTC"
        assert utc_date(value) == "2026-12-06"
        assert datetime_local(value) == "2026-12-06T14:05"


def test_no_time_is_an_empty_cell() -> None:
    for write in (utc_datetime, utc_time, utc_date, datetime_local):
        assert write(None) == "" and write("") == ""


def test_long_hashes_are_shortened_and_short_values_kept() -> None:
    assert short_hex("0x" + "ab" * 20) == "0xababab…ababab"
    assert short_hex("0x" + "1" * 64, 8) == "0x11111111…11111111"
    assert short_hex("0x1234") == "0x1234"
    assert short_hex(None) == ""

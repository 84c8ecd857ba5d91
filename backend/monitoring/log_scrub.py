"""Scrub every log record of this process (message, traceback, stack, `extra=` fields) with the rules Sentry's events
get, so an RPC URL's API key, a password or an e-mail address in an exception never reaches a log file, whoever logs
it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from backend.monitoring.scrub import scrub_text

# Tracebacks are long, and a cut one loses its last line (the error itself): far more room than Sentry's 1000.
LOG_MAX_TEXT = 50_000

_formatter = logging.Formatter()
# A record's own attributes; anything else on it came from a caller's `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_PLAIN = (int, float, bool, type(None))


def _scrub(text: str) -> str:
    return scrub_text(text, LOG_MAX_TEXT, keep_addresses=True)


def _tail(traceback: str) -> str:
    """A traceback too long to keep whole, from a line break near its end: its last line is the error itself."""
    if len(traceback) <= LOG_MAX_TEXT:
        return traceback
    tail = traceback[-(LOG_MAX_TEXT - 2):]
    # From a line break (else a space): a tail that began inside a secret would keep its unrecognisable end.
    start = tail.find("\n")
    if start < 0:
        start = tail.find(" ")
    return "…\n" + (tail[start + 1:] if start >= 0 else "[cut]")


def _printable(value: Any, show: Any) -> str:
    """`show(value)`, or a placeholder when that raises too: logging must never fail the code that logs."""
    try:
        return str(show(value))
    except Exception:  # noqa: BLE001 - a broken __str__/__repr__ (a detached ORM row) is not the caller's error
        return f"<unprintable {type(value).__name__}>"


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message with its scrubbed, fully formatted text when scrubbing changed it (args then go:
    they are in it; a message scrubbed piece by piece could lose a placeholder, "token=%s"), and set
    `exc_text` to the scrubbed traceback, which a Formatter prints instead of formatting `exc_info` itself.

    `exc_info` is kept: Sentry's logging integration reads it, and Sentry's `before_send` scrubs what it sends.
    Scrubbing twice changes nothing, so a record may pass here more than once.
    """
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format call: logging reports it (with msg and args), scrubbed
        record.msg = _scrub(_printable(record.msg, str))
        if isinstance(record.args, Mapping):
            record.args = {key: _scrub(_printable(value, repr)) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_scrub(_printable(value, repr)) for value in record.args)
    else:
        clean = _scrub(message)
        if clean != message:  # left alone otherwise: some formatters read `args` (uvicorn's access log unpacks them)
            record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = _formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = _scrub(_tail(record.exc_text))
    if record.stack_info:
        record.stack_info = _scrub(record.stack_info)
    _scrub_fields(record, record.__dict__.keys() - _RECORD_ATTRIBUTES)  # a caller's `extra=`, if any
    return record


def _scrub_fields(record: logging.LogRecord, keys: Iterable[str]) -> None:
    """The `extra=` fields a formatter may print (`%(rpc)s`, a JSON formatter): a text is scrubbed; another value
    (a dict, an object) is replaced by its scrubbed text only when scrubbing changed that text, so a formatter that
    reads it as it was keeps working whenever there was nothing to hide."""
    for key in keys:
        value = record.__dict__.get(key)
        if isinstance(value, _PLAIN):
            continue
        text = value if isinstance(value, str) else _printable(value, str)
        clean = _scrub(text)
        if clean != text:
            record.__dict__[key] = clean


class ScrubFilter(logging.Filter):
    """A handler filter that scrubs the record and lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def _make_record_scrubbing_extras(make_record: Any) -> Any:
    """`Logger.makeRecord` sets a call's `extra=` fields after the record factory ran: scrub them there."""
    @functools.wraps(make_record)
    def make_record_scrubbed(self: logging.Logger, name: str, level: int, fn: str, lno: int, msg: object, args: Any,
                             exc_info: Any, func: str | None = None, extra: Mapping[str, object] | None = None,
                             sinfo: str | None = None) -> logging.LogRecord:
        record = make_record(self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)
        if extra:
            _scrub_fields(record, extra)
        return record

    make_record_scrubbed.scrubs_records = True  # type: ignore[attr-defined]
    return make_record_scrubbed


def install_log_scrubbing() -> None:
    """Scrub every record this process logs; call it where the process sets logging up (safe to call again).

    Two layers. The record factory is the one that counts: every `logger.x(...)` call makes its record through it, so
    it covers handlers added later (uvicorn's dictConfig in the web process, Alembic, a library's own handler) and
    logging's last-resort stderr handler, which no handler filter set up here would reach. The filter on the root
    logger's handlers covers the rest: records made without the factory (`logging.makeLogRecord`, which fills in a
    record after the factory ran) and a library that later sets its own factory without calling ours.
    The factory wraps whatever factory is there (pytest's caplog keeps working: its handler just sees scrubbed
    records), and is not wrapped twice. A call's `extra=` fields are set on the record after the factory ran, so
    `Logger.makeRecord` is wrapped too (once, for every logger) to scrub them.
    """
    current = logging.getLogRecordFactory()
    if not getattr(current, "scrubs_records", False):
        def scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return scrub_record(current(*args, **kwargs))

        scrubbing_factory.scrubs_records = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(scrubbing_factory)
    if not getattr(logging.Logger.makeRecord, "scrubs_records", False):
        logging.Logger.makeRecord = _make_record_scrubbing_extras(logging.Logger.makeRecord)  # type: ignore[method-assign]
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())

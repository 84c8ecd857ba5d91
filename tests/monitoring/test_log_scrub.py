"""Every process scrubs its log lines: an RPC URL's API key in a logged argument or in a traceback never reaches the
log, through each process's own logging set-up and a handler added after it."""

from __future__ import annotations

import inspect
import io
import logging
import sys
from collections.abc import Callable, Iterator

import pytest

from backend.monitoring.log_scrub import LOG_MAX_TEXT, install_log_scrubbing, scrub_record
from backend.monitoring.scrub import scrub_text

ALCHEMY_KEY = "pQrStUvWxYzAbCdEfGhIjKlMnOpQrStU"  # no digit: only the RPC-path rule knows it is a key
INFURA_KEY = "9aa3d95b3bc440fa88ea12eaa4456161"
ALCHEMY_URL = f"https://eth-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}"
INFURA_URL = f"https://mainnet.infura.io/v3/{INFURA_KEY}"
VAULT = "0x52908400098527886E0F7030069857D2E4169EE7"


@pytest.fixture
def fresh_process() -> Iterator[None]:
    """Logging as a process has it before its set-up: the plain record factory (the test process's scrubbing undone),
    root's handlers and level put back afterwards."""
    root = logging.getLogger()
    factory, handlers, level = logging.getLogRecordFactory(), list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    make_record = logging.Logger.makeRecord
    logging.setLogRecordFactory(logging.LogRecord)
    logging.Logger.makeRecord = inspect.unwrap(make_record)  # type: ignore[method-assign]
    yield
    logging.setLogRecordFactory(factory)
    logging.Logger.makeRecord = make_record  # type: ignore[method-assign]
    root.handlers[:] = handlers
    root.setLevel(level)
    for handler, kept in filters.items():
        handler.filters[:] = kept


def _node_error() -> ConnectionError:
    try:
        try:
            raise OSError(f"connection refused: {INFURA_URL}")
        except OSError as cause:
            raise ConnectionError(f"Max retries exceeded with url: {ALCHEMY_URL}") from cause
    except ConnectionError as exc:
        return exc


def _log_lines(log: Callable[[logging.Logger], None]) -> str:
    """What a StreamHandler added after the set-up writes for the records `log` makes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tests.log_scrub")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def _log_an_outage(logger: logging.Logger) -> None:
    exc = _node_error()
    logger.warning("vault %s balances unavailable: %s", VAULT, exc)
    try:
        raise exc
    except ConnectionError:
        logger.exception("reward distributor: chain %s unreachable", "mainnet")


def _assert_scrubbed(text: str) -> None:
    assert "balances unavailable: Max retries exceeded with url: https://eth-mainnet.g.alchemy.com/v2/[redacted]" \
        in text, text
    assert "reward distributor: chain mainnet unreachable" in text and "Traceback" in text, text
    assert "connection refused: https://mainnet.infura.io/v3/[redacted]" in text, text  # the chained cause too
    assert ALCHEMY_KEY not in text and INFURA_KEY not in text, text
    assert VAULT in text  # a contract address is public: logs keep naming the vault


def test_the_runners_log_set_up_keeps_an_rpc_urls_key_out_of_messages_and_tracebacks(fresh_process) -> None:
    from jobs.__main__ import setup_logging

    setup_logging()
    _assert_scrubbed(_log_lines(_log_an_outage))


def test_the_command_lines_log_keeps_an_rpc_urls_key_out(fresh_process, capsys: pytest.CaptureFixture[str]) -> None:
    from backend.__main__ import main

    assert main(["machines"]) == 0
    _assert_scrubbed(_log_lines(_log_an_outage))


def test_without_the_set_up_the_key_would_be_logged(fresh_process) -> None:
    """The tests above prove the set-up: with the plain factory the same lines carry both keys."""
    text = _log_lines(_log_an_outage)
    assert ALCHEMY_KEY in text and INFURA_KEY in text


def _log_with_extras(logger: logging.Logger) -> None:
    logger.handlers[-1].setFormatter(logging.Formatter("%(message)s rpc=%(rpc)s context=%(context)s try=%(attempt)s"))
    logger.warning("node unreachable", extra={"rpc": ALCHEMY_URL, "context": {"fallback": INFURA_URL},
                                                "attempt": 3})


def test_extra_fields_are_scrubbed_for_a_handler_added_after_the_set_up(fresh_process) -> None:
    from jobs.__main__ import setup_logging

    setup_logging()
    text = _log_lines(_log_with_extras)
    assert ALCHEMY_KEY not in text and INFURA_KEY not in text, text
    assert "rpc=https://eth-mainnet.g.alchemy.com/v2/[redacted]" in text, text
    assert "https://mainnet.infura.io/v3/[redacted]" in text and "try=3" in text, text


def test_without_the_set_up_extra_fields_would_be_logged(fresh_process) -> None:
    text = _log_lines(_log_with_extras)
    assert ALCHEMY_KEY in text and INFURA_KEY in text


def test_an_extra_field_with_nothing_to_hide_keeps_its_value() -> None:
    record = logging.makeLogRecord({"msg": "paid", "order": {"id": 7}, "vault": VAULT})
    scrub_record(record)
    assert record.order == {"id": 7} and record.vault == VAULT  # type: ignore[attr-defined]


def test_setting_up_twice_scrubs_once_and_caplog_still_captures(fresh_process,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    install_log_scrubbing()
    factory = logging.getLogRecordFactory()
    install_log_scrubbing()
    assert logging.getLogRecordFactory() is factory  # not wrapped twice

    with caplog.at_level(logging.INFO, logger="tests.log_scrub"):
        _log_lines(lambda logger: logger.info("mail to %s failed, retry in %ss", "jane.doe@example.com", 30))
    [record] = [r for r in caplog.records if r.name == "tests.log_scrub"]
    assert record.getMessage() == "mail to [email] failed, retry in 30s"
    assert "jane.doe@example.com" not in caplog.text


def test_a_log_line_keeps_its_exception_for_sentry(fresh_process, caplog: pytest.LogCaptureFixture) -> None:
    install_log_scrubbing()
    exc = _node_error()
    with caplog.at_level(logging.INFO, logger="tests.log_scrub"):
        try:
            raise exc
        except ConnectionError:
            logging.getLogger("tests.log_scrub").exception("sync failed")
    [failed] = [r for r in caplog.records if r.name == "tests.log_scrub"]
    assert failed.exc_info and failed.exc_info[1] is exc  # Sentry's logging integration reads it (and scrubs)
    assert ALCHEMY_KEY not in (failed.exc_text or "") and "/v2/[redacted]" in (failed.exc_text or "")


def test_a_bad_format_call_is_left_for_logging_to_report_but_scrubbed() -> None:
    record = logging.LogRecord("tests.log_scrub", logging.INFO, __file__, 1, "node %s %s down", (ALCHEMY_URL,), None)
    assert scrub_record(record) is record and len(record.args) == 1  # type: ignore[arg-type]
    assert ALCHEMY_KEY not in str(record.args) and "/v2/[redacted]" in str(record.args)
    with pytest.raises(TypeError):  # still a bad call: logging's handleError reports it, args and all
        record.getMessage()


def test_a_traceback_too_long_to_keep_keeps_its_end() -> None:
    try:
        raise ConnectionError("x" * 10 + " frame\n" * 20_000 + f"the error itself at {ALCHEMY_URL}")
    except ConnectionError:
        record = logging.LogRecord("tests.log_scrub", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    scrub_record(record)
    assert record.exc_text is not None and len(record.exc_text) <= LOG_MAX_TEXT
    assert record.exc_text.rstrip().endswith("the error itself at https://eth-mainnet.g.alchemy.com/v2/[redacted]")


def test_a_long_traceback_is_kept_whole_and_scrubbed() -> None:
    def chain(n: int) -> None:
        try:
            raise _node_error() if n == 0 else chain(n - 1)  # type: ignore[func-returns-value]
        except ConnectionError as exc:
            raise ConnectionError(f"retry {n} failed") from exc

    try:
        chain(40)
    except ConnectionError:
        text = _log_lines(lambda logger: logger.exception("sync failed"))
    assert len(text) > 5000  # Sentry's 1000 characters would have cut the error itself off
    assert text.rstrip().endswith("ConnectionError: retry 40 failed")
    assert "https://eth-mainnet.g.alchemy.com/v2/[redacted]" in text and ALCHEMY_KEY not in text


def test_the_web_app_module_scrubs_what_its_process_logs() -> None:
    """The Reflex worker imports primsell.primsell: uvicorn's handlers (here logging's last resort) log it scrubbed."""
    import subprocess
    import sys

    from backend.settings import PROJECT_ROOT

    code = f"import logging, primsell.primsell; logging.getLogger('x').warning('node %s down', {ALCHEMY_URL!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "node https://eth-mainnet.g.alchemy.com/v2/[redacted] down" in done.stderr and ALCHEMY_KEY not in done.stderr


def test_a_huge_log_line_is_scrubbed_in_linear_time_and_cut_between_words() -> None:
    import time

    started = time.monotonic()
    for blob in ("a" * 200_000, "a-" * 100_000, "a." * 100_000):
        scrub_text(blob, 10**6)  # quadratic before: minutes
    assert time.monotonic() - started < 5
    text = scrub_text("x " * 999 + ALCHEMY_KEY * 3, 1000)  # the key runs across the cut: none of it is kept
    assert "pQrSt" not in text and len(text) <= 1000


@pytest.mark.parametrize("text", ["9.postgres://user:hunter2@db/x", "url=1redis://u:hunter2@cache:6379/0"])
def test_credentials_in_a_url_are_dropped_whatever_stands_before_it(text: str) -> None:
    assert "hunter2" not in scrub_text(text) and "://[redacted]@" in scrub_text(text)


def test_an_nft_api_key_in_the_path_is_dropped() -> None:
    text = scrub_text(f"GET https://eth-mainnet.g.alchemy.com/nft/v3/{ALCHEMY_KEY}/getNFTsForOwner failed")
    assert ALCHEMY_KEY not in text and "/nft/v3/[redacted]/getNFTsForOwner" in text


def test_an_over_long_text_without_spaces_is_dropped_rather_than_cut_inside_a_secret() -> None:
    # A comma or a bracket may stand inside a URL's password: cut there, the rest of the password would go unseen.
    body = "x " * 400 + "postgres://app:pa,ss(word)@db/x" + "n" * 2500
    assert "pa," not in scrub_text(body, 1000) and scrub_text(body, 1000).endswith("x …")
    assert scrub_text('{"id":"ord_1","note":"' + "n" * 2500 + '"}', 1000) == "[cut] …"


def test_a_one_line_traceback_too_long_to_keep_starts_at_a_space_not_inside_a_secret() -> None:
    message = "x" * 10 + "".join(f" https://eth-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}" for _ in range(2000))
    try:
        raise ConnectionError(message)
    except ConnectionError:
        record = logging.LogRecord("tests.log_scrub", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    scrub_record(record)
    text = record.exc_text or ""
    assert text.startswith("…\n") and "pQrSt" not in text and text.count("/v2/[redacted]") > 100


def test_an_argument_that_cannot_be_printed_does_not_fail_the_logging_call() -> None:
    class Detached:
        def __repr__(self) -> str:
            raise ValueError("instance is not bound to a session")

        __str__ = __repr__

    record = logging.LogRecord("tests.log_scrub", logging.INFO, __file__, 1, "a %s b %s", (Detached(),), None)
    assert scrub_record(record).args == ("<unprintable Detached>",)

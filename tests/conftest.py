"""Test set-up shared by every test: a migrated database (SQLite or PostgreSQL) emptied after each test.

Pick the database with PRIMSELL_TEST_DB=sqlite (default) or PRIMSELL_TEST_DB=postgresql; `make test`
runs the whole suite once with each. PostgreSQL tests use their own database on 127.0.0.1:5432
(`primsell_run_<worker>_<pid>`: one per run and xdist worker, dropped afterwards; or PRIMSELL_TEST_PG_DB).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

TEST_DB = os.environ.get("PRIMSELL_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("PRIMSELL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-for-primsell-tests-only-0123456789"


def _admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _drop_stale_run_databases(conn) -> None:  # type: ignore[no-untyped-def]
    """Drop databases left by earlier runs that were killed before their own clean-up."""
    names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'primsell_run_%'")).scalars()
    for name in list(names):
        pid = name.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _postgres_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    admin = _admin_engine()
    with admin.connect() as conn:
        _drop_stale_run_databases(conn)
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if TEST_DB == "postgresql":
        # Two test runs at once must not share a database: by default each run (and xdist worker) gets its own,
        # named after its process id, and drops it at the end.
        return _postgres_url(os.environ.get("PRIMSELL_TEST_PG_DB") or f"primsell_run_{worker}_{os.getpid()}")
    if TEST_DB != "sqlite":
        raise pytest.UsageError("PRIMSELL_TEST_DB must be sqlite or postgresql")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'primsell.db'}"


@pytest.fixture(scope="session", autouse=True)
def migrated_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the whole backend at the test database and migrate it from scratch."""
    data_dir: Path = tmp_path_factory.mktemp("var")
    os.environ.update(
        PRIMSELL_ENV="test",
        PRIMSELL_DATA_DIR=str(data_dir),
        PRIMSELL_SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
    )
    os.environ.pop("REDIS_URL", None)
    from backend import db
    from backend.auth.ratelimit import get_rate_limiter
    from backend.migrate import upgrade
    from backend.settings import get_settings

    get_settings.cache_clear()
    get_rate_limiter.cache_clear()
    db.set_engine(None)
    if db.is_postgresql():
        with db.get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
    yield database_url
    db.set_engine(None)
    name = database_url.rsplit("/", 1)[-1]
    if TEST_DB == "postgresql" and name.startswith("primsell_run_"):
        _drop_postgres_database(name)


TRUNCATE_ATTEMPTS = 5


def empty_all_tables() -> None:
    """Empty every table. On PostgreSQL one TRUNCATE, tried again when it loses a deadlock: a server a test started
    in its own process (granian, tests/api_server.py) may still be relaying that test's outbox, and its row locks
    and the TRUNCATE's table locks can meet in opposite order. A TRUNCATE that fails leaves the rows to the next
    test (CI once saw a leftover campaign's mint sent by the next test's dispatcher), so it must not give up."""
    from sqlalchemy.exc import OperationalError

    from backend import db
    from backend.models import metadata

    tables = [t.name for t in reversed(metadata.sorted_tables)]
    if not db.is_postgresql():
        with db.get_engine().begin() as conn:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
        return
    statement = text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    for attempt in range(1, TRUNCATE_ATTEMPTS + 1):
        try:
            with db.get_engine().begin() as conn:
                conn.execute(statement)
            return
        except OperationalError as exc:
            if attempt == TRUNCATE_ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in ("40P01", "55P03"):
                raise
            time.sleep(0.2 * attempt)


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Every test starts with empty tables and fresh rate-limit counters."""
    from backend.auth.ratelimit import get_rate_limiter

    get_rate_limiter().reset()
    yield
    empty_all_tables()


@pytest.fixture(autouse=True)
def scrubbed_logs() -> Iterator[None]:
    """Every Primsell process scrubs what it logs (backend/monitoring/log_scrub.py), so the tests' one does too, the
    same whichever tests run; a test that sets logging up otherwise gets this record factory back afterwards."""
    from backend.monitoring.log_scrub import install_log_scrubbing

    factory = logging.getLogRecordFactory()
    install_log_scrubbing()
    yield
    logging.setLogRecordFactory(factory)


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Override settings through the environment for one test (`configure(OUTBOX_MAX_ATTEMPTS=1)`); undone after."""
    from backend.auth.ratelimit import get_rate_limiter
    from backend.settings import get_settings

    def apply(**env: object) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        get_settings.cache_clear()
        get_rate_limiter.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    get_rate_limiter.cache_clear()

"""The scratch database a benchmark runs in: a temporary SQLite file, or a PostgreSQL database of its own made next
to the one named by --database-url (dropped and made again at start, dropped at the end), so a bench never touches
the data of the database it was pointed at."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fresh_database(url: str | None, name: str, data_dir: Path | None = None) -> str:
    """The URL to run in: `url` itself for SQLite, a SQLite file in `data_dir` (or a new temporary directory) when
    no URL is given, else a new empty PostgreSQL database `name` on `url`'s server."""
    if not url or url.startswith("sqlite"):
        folder = data_dir or Path(tempfile.mkdtemp(prefix="primsell-bench-"))
        return url or f"sqlite:///{folder / 'bench.db'}"
    from sqlalchemy.engine import make_url

    _on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(url: str, name: str) -> None:
    """Drop the database `fresh_database` made (nothing for SQLite or any database not called `name`)."""
    from sqlalchemy.engine import make_url

    if url.startswith("sqlite") or make_url(url).database != name:
        return
    from backend import db

    db.set_engine(None)  # this process's own connections to it
    _on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_server(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def use_scratch_database(url: str | None, name: str, **settings: str) -> str:
    """Point this process at a fresh, migrated scratch database (see `fresh_database`) with test settings plus
    `settings`; returns its URL. For the benchmarks that call the services in-process."""
    scratch = fresh_database(url, name)
    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("PRIMSELL_ENV", "test")
    os.environ.setdefault("PRIMSELL_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.setdefault("PRIMSELL_DATA_DIR", tempfile.mkdtemp(prefix="primsell-bench-var-"))
    os.environ.update(settings)
    from backend import db
    from backend.migrate import upgrade
    from backend.settings import get_settings

    get_settings.cache_clear()
    db.set_engine(None)
    upgrade()
    return scratch

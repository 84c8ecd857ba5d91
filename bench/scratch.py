"""The scratch database a benchmark runs in: a temporary SQLite file, or a PostgreSQL database of its own made next
to the one named by --database-url (dropped and made again at start, dropped at the end), so a bench never touches
the data of the database it was pointed at."""

from __future__ import annotations

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

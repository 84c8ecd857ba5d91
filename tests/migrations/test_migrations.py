"""Migrations: up, down and up again on an empty database, and the models agree with the migrations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from backend.db import build_engine, get_engine, is_postgresql
from backend.migrate import alembic_config
from backend.models import metadata


@pytest.fixture
def scratch_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the same kind as the session's, never the session database itself."""
    if not is_postgresql():
        engine = build_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        engine.dispose()
        return
    name = f"primsell_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(get_engine().url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = build_engine(get_engine().url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _run(engine: Engine, verb: str, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _head(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_downgrade_upgrade_on_an_empty_database(scratch_engine: Engine):
    model_tables = {t.name for t in metadata.sorted_tables}
    _run(scratch_engine, "upgrade", "head")
    assert _tables(scratch_engine) == model_tables
    head = _head(scratch_engine)
    assert head is not None

    _run(scratch_engine, "downgrade", "base")
    assert _tables(scratch_engine) == set()
    assert _head(scratch_engine) is None

    _run(scratch_engine, "upgrade", "head")
    assert _tables(scratch_engine) == model_tables
    assert _head(scratch_engine) == head


def test_models_and_migrations_agree(scratch_engine: Engine):
    _run(scratch_engine, "upgrade", "head")
    with scratch_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "target_metadata": metadata})
        diffs = compare_metadata(context, metadata)
    assert diffs == [], "models differ from the migrations; write a migration:\n" + "\n".join(map(str, diffs))


def test_session_database_is_at_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migration history has branched: {heads}"
    assert _head(get_engine()) == heads[0]
    assert make_url(str(get_engine().url)).get_backend_name() in ("sqlite", "postgresql")

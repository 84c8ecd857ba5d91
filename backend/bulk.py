"""Bulk writes for hot paths (the sales ledger, the outbox's `emit_many`): many rows in one DBAPI call, without
SQLAlchemy's per-row parameter machinery (`construct_params` and the type processing around it: ~15 us a row, most
of the ingest's CPU when it went through Core executemany).

Each statement is compiled once per dialect and shape; values still go through the columns' own bind processors,
so they are stored exactly as the ORM or Core would store them. On PostgreSQL, `insert_many` of many rows uses
COPY (one stream instead of a statement per row: the server's share of the work, on the same CPUs, dominated).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.sql.dml import UpdateBase

from backend.db import UTCDateTime

COPY_MIN_ROWS = 20  # fewer rows: one executemany (COPY's set-up costs more than it saves)

_Processor = Callable[[Any], Any]
_CompiledForm = tuple[str, list[str], list[tuple[int, _Processor, bool]]]
_COMPILED: dict[Hashable, _CompiledForm] = {}


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys, every value given: no column defaults are applied)."""
    if not rows:
        return
    names = tuple(rows[0])
    dialect = connection.dialect
    form = _compiled(connection, ("insert", table.name, names),
                     lambda: insert(table).values({name: bindparam(name) for name in names}))
    if dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        params = _params(form, rows, positional=True)
        columns = ", ".join(f'"{name}"' for name in form[1])
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for values in params:
                copy.write_row(values)
        return
    connection.exec_driver_sql(form[0], _params(form, rows, positional=dialect.positional))


def allocate_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """Ids for `count` new rows of `table` (integer primary key `id`), taken before the insert so that one plain
    bulk INSERT (or COPY) writes them, without RETURNING: from the table's sequence on PostgreSQL; on SQLite the
    ones above the largest id, which is what SQLite itself would give (the tables have no AUTOINCREMENT) and safe
    because every transaction there holds the database's write lock from its start (BEGIN IMMEDIATE, backend.db)."""
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        return list(connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count}).scalars())
    top = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


def execute_many(connection: Connection, key: Hashable, statement: Callable[[], UpdateBase],
                 rows: Sequence[dict[str, Any]]) -> None:
    """Run the statement `statement()` builds (bind parameters named as `rows`' keys; built only the first time
    for `key`) once per row, in one DBAPI executemany."""
    if not rows:
        return
    form = _compiled(connection, key, statement)
    connection.exec_driver_sql(form[0], _params(form, rows, positional=connection.dialect.positional))


_UPDATES: dict[tuple[str, tuple[str, ...]], tuple[str, list[tuple[str, _Processor | None, bool]]]] = {}


def update_by_id(connection: Connection, table: Table, columns: tuple[str, ...],
                 rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE `table` SET `columns` for each row (dicts with the row's `_id` and a value for each column). One
    executemany on SQLite; on PostgreSQL one statement over arrays (`UPDATE ... FROM unnest(...)`), which costs the
    server a fraction of a statement per row."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        execute_many(connection, ("update_by_id", table.name, columns), lambda: update(table).where(
            table.c.id == bindparam("_id")).values({name: bindparam(name) for name in columns}), rows)
        return
    dialect = connection.dialect
    form = _UPDATES.get((table.name, columns))
    if form is None:
        arrays = ", ".join(f"CAST(%(p{index})s AS {table.c[name].type.compile(dialect=dialect)}[])"
                           for index, name in enumerate(columns))
        names = ", ".join(f'"{name}"' for name in columns)
        sets = ", ".join(f'"{name}" = v."{name}"' for name in columns)
        sql = (f'UPDATE "{table.name}" SET {sets} FROM unnest(CAST(%(p_id)s AS BIGINT[]), {arrays}) '
               f'AS v("_id", {names}) WHERE "{table.name}".id = v."_id"')
        processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect),
                       isinstance(table.c[name].type, UTCDateTime)) for name in columns]
        form = _UPDATES[(table.name, columns)] = (sql, processors)
    sql, processors = form
    params: dict[str, Any] = {"p_id": [row["_id"] for row in rows]}
    for index, (name, process, is_datetime) in enumerate(processors):
        values = [row[name] for row in rows]
        if process is not None:
            convert = _memoised(process) if is_datetime else process
            values = [None if value is None else convert(value) for value in values]
        params[f"p{index}"] = values
    connection.exec_driver_sql(sql, params)


def _compiled(connection: Connection, key: Hashable, statement: Callable[[], UpdateBase]) -> _CompiledForm:
    dialect = connection.dialect
    cache_key = (dialect.name, key)
    form = _COMPILED.get(cache_key)
    if form is None:
        compiled = statement().compile(dialect=dialect)
        if compiled.escaped_bind_names:
            raise ValueError(f"bind names that need escaping are not supported: {compiled.escaped_bind_names}")
        order = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
        processors = []
        for index, name in enumerate(order):
            bind_type = compiled.binds[name].type
            process = bind_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((index, process, isinstance(bind_type, UTCDateTime)))
        form = _COMPILED[cache_key] = (str(compiled), order, processors)
    return form


def _params(form: _CompiledForm, rows: Sequence[dict[str, Any]], *, positional: bool) -> list[Any]:
    _, order, processors = form
    # A datetime column's values are converted once each (a batch's rows mostly carry the same `now`).
    converters = [(index, _memoised(process) if is_datetime else process) for index, process, is_datetime in processors]
    params: list[Any] = []
    for row in rows:
        values = [row[name] for name in order]
        for index, process in converters:
            value = values[index]
            if value is not None:
                values[index] = process(value)
        params.append(tuple(values) if positional else dict(zip(order, values, strict=True)))
    return params


def _memoised(process: _Processor) -> _Processor:
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        result = seen.get(value)
        if result is None:
            result = seen[value] = process(value)
        return result

    return convert

"""Reorg detection for readers that follow the chain with a block cursor (the indexer's Transfer logs, the reward
vaults' claim logs): each keeps the hashes of the blocks its cursor passed (the last block of each range it read);
when the newest kept hash no longer matches the chain, the fork point is the newest kept block that still does.

A reorg changes the hash of every block from the first replaced one up, so checking the newest kept block finds any
reorg of what was read; the fork point found is at or below the real one (kept blocks are range ends), which only
means reading a little more again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, delete, select
from sqlmodel import Session

from backend.chain.reader import ChainReader
from backend.workflow.sql import upsert

KEEP_BLOCK_HASHES = 64  # range ends kept per cursor


def find_fork(reader: ChainReader, kept: Sequence[tuple[int, str]]) -> int | None:
    """`kept`: the (block number, hash) pairs a cursor kept, in any order. None while the newest still matches the
    chain (or nothing is kept); else the newest kept block that does (-1 when none does: read everything again)."""
    if not kept:
        return None
    ordered = sorted(kept, reverse=True)
    newest, newest_hash = ordered[0]
    if reader.headers([newest]).get(newest, ("",))[0] == newest_hash:
        return None
    canonical = reader.headers([number for number, _ in ordered[1:]])
    for number, block_hash in ordered[1:]:
        if canonical.get(number, ("",))[0] == block_hash:
            return int(number)
    return -1


def kept_hashes(session: Session, table: Table, scope: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The (block number, hash) pairs kept in `table` for one cursor (`scope`: its key columns and values)."""
    where = [table.c[name] == value for name, value in scope.items()]
    return [(int(n), h) for n, h in session.execute(select(table.c.block_number, table.c.block_hash).where(*where))]


def keep_hash(session: Session, table: Table, scope: Mapping[str, Any], block_number: int, block_hash: str,
              created_at: Any) -> None:
    """Keep the hash of the last block a cursor read (replacing one kept for that number before) and forget all but
    the newest KEEP_BLOCK_HASHES of that cursor."""
    upsert(session, table, {**scope, "block_number": block_number, "block_hash": block_hash,
                            "created_at": created_at},
           [*scope, "block_number"], {"block_hash": block_hash, "created_at": created_at})
    where = [table.c[name] == value for name, value in scope.items()]
    keep_from = session.execute(select(table.c.block_number).where(*where).order_by(table.c.block_number.desc())
                                .offset(KEEP_BLOCK_HASHES - 1).limit(1)).scalar_one_or_none()
    if keep_from is not None:
        session.execute(delete(table).where(*where, table.c.block_number < keep_from))


def forget_after(session: Session, table: Table, scope: Mapping[str, Any], fork: int) -> None:
    """Drop the hashes a cursor kept above the fork point (a rewind reads those blocks again)."""
    where = [table.c[name] == value for name, value in scope.items()]
    session.execute(delete(table).where(*where, table.c.block_number > fork))

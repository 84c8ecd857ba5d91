"""Apply a machine's transition to a persisted entity, with a version check and a history row, in one transaction.

`transition()` works for any mapped entity with `id`, `state` and `version` columns; the caller's session
commits the state change, the history row and (when the caller emits them) the outbox events together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from backend.auth.acl import Actor
from backend.db import session_scope, utcnow
from backend.errors import Conflict
from backend.workflow.machine import Machine
from backend.workflow.machines import MACHINES
from backend.workflow.models import StateTransition
from backend.workflow.ownership import check_read


class ConcurrentTransition(Conflict):
    code = "concurrent_transition"


def machine_for(entity: Any) -> Machine:
    """The machine named by the entity class's `__state_machine__` (a Machine or a MACHINES key)."""
    declared = getattr(type(entity), "__state_machine__", None)
    if isinstance(declared, Machine):
        return declared
    if isinstance(declared, str) and declared in MACHINES:
        return MACHINES[declared]
    raise TypeError(f"{type(entity).__name__} declares no __state_machine__")


def transition(
    session: Session,
    entity: Any,
    trigger: str,
    *,
    actor: str,
    reason: str = "",
    machine: Machine | None = None,
    also: dict[str, Any] | None = None,
) -> Enum:
    """Move `entity` by `trigger`; raises IllegalTransition, or ConcurrentTransition if another writer won.

    The UPDATE is guarded by `version`, so of two concurrent transitions from the same version exactly one
    changes the row; the loser's transaction should be rolled back (the caller re-reads and decides again).
    `also` sets more columns in the same UPDATE (e.g. the payment fields with "pay"): one statement, not two.
    """
    machine = machine or machine_for(entity)
    current = machine.coerce(entity.state)
    target = machine.next_state(current, trigger)
    cls = type(entity)
    columns = inspect(cls).columns
    extra = dict(also or {})
    unknown = sorted(set(extra) - set(columns.keys()) | set(extra) & {"id", "state", "version"})
    if unknown:
        raise ValueError(f"transition cannot also set {', '.join(unknown)}")
    version = entity.version
    values: dict[str, Any] = {**extra, "state": target, "version": cls.version + 1}
    now = utcnow()
    if "updated_at" in columns:
        values["updated_at"] = now
    result = session.execute(
        update(cls)
        .where(cls.id == entity.id, cls.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentTransition(
            f"{machine.name} {entity.id} changed while {trigger!r} was being applied; reload and try again"
        )
    for name, value in {**extra, "state": target, "version": version + 1}.items():
        set_committed_value(entity, name, value)
    if "updated_at" in values:
        set_committed_value(entity, "updated_at", now)
    # Core, not an ORM object: written now, in order with the UPDATE, without a unit-of-work flush.
    session.execute(insert(StateTransition), {
        "entity_type": machine.name, "entity_id": str(entity.id), "from_state": current.value,
        "to_state": target.value, "trigger": trigger, "actor": actor[:80], "reason": reason[:500], "created_at": now,
    })
    return target


@dataclass(frozen=True)
class HistoryEntry:
    from_state: str
    to_state: str
    trigger: str
    actor: str
    reason: str
    at: datetime


def history(actor: Actor | None, entity_type: str, entity_id: int | str, *,
            session: Session | None = None) -> list[HistoryEntry]:
    """The entity's timeline, oldest first (the admin timeline), for an actor who may read the entity: a
    platform-wide grant, or the entity type's read permission in its brand. Anyone else gets NotFound, as for an
    entity that does not exist (backend/workflow/ownership.py)."""
    query = (
        select(StateTransition)
        .where(StateTransition.entity_type == entity_type, StateTransition.entity_id == str(entity_id))
        .order_by(StateTransition.id)
    )

    def _read(s: Session) -> list[HistoryEntry]:
        check_read(s, actor, entity_type, entity_id)
        return [
            HistoryEntry(r.from_state, r.to_state, r.trigger, r.actor, r.reason, r.created_at)
            for r in s.execute(query).scalars()
        ]

    if session is not None:
        return _read(session)
    with session_scope() as s:
        return _read(s)

"""transition(): the state column moves, a history row is written in the same transaction, and of two
concurrent transitions from one version exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Integer, MetaData, String, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from backend.auth.acl import Actor, Role
from backend.db import get_engine, session_scope
from backend.workflow.machine import IllegalTransition
from backend.workflow.machines import KYC, KycState
from backend.workflow.models import StateTransition
from backend.workflow.transitions import ConcurrentTransition, history, transition

PLATFORM = Actor(user_id=1, email="pat@example.com", roles={None: Role.PLATFORM_ADMIN})  # history() takes a reader


class _TestBase(DeclarativeBase):
    metadata = MetaData()  # not the app's metadata: migrations and the table-emptying fixture never see it


class Case(_TestBase):
    """A test-only entity shaped like the future kyc_case table (id, state, version)."""

    __tablename__ = "wf_test_case"
    __state_machine__ = KYC
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default=KycState.SUBMITTED.value)
    version: Mapped[int] = mapped_column(Integer, default=0)
    reviewer: Mapped[str] = mapped_column(String(32), default="")


@pytest.fixture
def case_table() -> Iterator[None]:
    _TestBase.metadata.create_all(get_engine())
    yield
    _TestBase.metadata.drop_all(get_engine())


def _new_case() -> int:
    with session_scope() as session:
        case = Case(state=KycState.SUBMITTED.value, version=0)
        session.add(case)
        session.flush()
        return case.id


def test_transition_moves_state_and_writes_history(case_table: None) -> None:
    case_id = _new_case()
    with session_scope() as session:
        case = session.get(Case, case_id)
        assert transition(session, case, "start_review", actor="user:7", reason="picked up") is KycState.IN_REVIEW
        transition(session, case, "approve", actor="user:7", reason="documents match")
    with session_scope() as session:
        stored = session.get(Case, case_id)
        assert (stored.state, stored.version) == ("approved", 2)
    timeline = history(PLATFORM, "kyc_case", case_id)
    assert [(h.from_state, h.to_state, h.trigger, h.actor) for h in timeline] == [
        ("submitted", "in_review", "start_review", "user:7"),
        ("in_review", "approved", "approve", "user:7"),
    ]
    assert timeline[1].reason == "documents match"


def test_transition_sets_other_columns_in_its_one_update(case_table: None) -> None:
    case_id = _new_case()
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0])

    with session_scope() as session:
        case = session.get(Case, case_id)
        event.listen(get_engine(), "before_cursor_execute", record)
        try:
            transition(session, case, "start_review", actor="user:7", also={"reviewer": "kim"})
        finally:
            event.remove(get_engine(), "before_cursor_execute", record)
        assert (case.state, case.reviewer) == ("in_review", "kim")  # the object agrees without a reload
        assert statements == ["UPDATE", "INSERT"]  # the guarded update (with the reviewer) and the history row
        with pytest.raises(ValueError, match="version"):
            transition(session, case, "approve", actor="user:7", also={"version": 9})
        with pytest.raises(ValueError, match="nickname"):
            transition(session, case, "approve", actor="user:7", also={"nickname": "x"})
    with session_scope() as session:
        stored = session.get(Case, case_id)
        assert (stored.state, stored.version, stored.reviewer) == ("in_review", 1, "kim")


def test_illegal_transition_names_machine_state_and_trigger_and_changes_nothing(case_table: None) -> None:
    case_id = _new_case()
    with (pytest.raises(IllegalTransition, match="kyc_case: trigger 'approve' is not allowed in state 'submitted'"),
          session_scope() as session):
        transition(session, session.get(Case, case_id), "approve", actor="user:1")
    assert history(PLATFORM, "kyc_case", case_id) == []


def test_history_row_is_rolled_back_with_the_state_change(case_table: None) -> None:
    case_id = _new_case()
    with pytest.raises(RuntimeError), session_scope() as session:
        transition(session, session.get(Case, case_id), "start_review", actor="user:1")
        raise RuntimeError("the service failed after the transition")
    with session_scope() as session:
        assert session.get(Case, case_id).state == "submitted"
        assert session.execute(select(StateTransition)).first() is None


def test_stale_version_loses(case_table: None) -> None:
    case_id = _new_case()
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        a = first.get(Case, case_id)
        first.commit()  # end each read before the next (on SQLite every transaction is a writer)
        b = second.get(Case, case_id)
        second.commit()
        assert a.version == b.version == 0
        transition(first, a, "start_review", actor="user:1")
        first.commit()
        with pytest.raises(ConcurrentTransition):
            transition(second, b, "withdraw", actor="user:2")
        second.rollback()
    assert [h.trigger for h in history(PLATFORM, "kyc_case", case_id)] == ["start_review"]


def test_concurrent_transitions_only_one_wins(case_table: None) -> None:
    case_id = _new_case()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(trigger: str) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                transition(session, session.get(Case, case_id), trigger, actor="daemon:test")
            outcomes.append("won")
        except (ConcurrentTransition, IllegalTransition):
            outcomes.append("lost")

    # Two triggers that each end where the other is illegal, so whichever order the writers run in, one wins.
    threads = [threading.Thread(target=attempt, args=(t,)) for t in ["withdraw", "provider_approve"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1
    assert len(history(PLATFORM, "kyc_case", case_id)) == 1

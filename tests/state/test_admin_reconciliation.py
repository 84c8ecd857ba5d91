"""The Reconciliation page's run follower (AdminReconciliationState.follow_run) acts as the person signed in NOW on
each tick: signed out or no longer an admin, it stops following the run."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
from sqlalchemy import delete, update
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import Membership, User
from backend.auth.service import end_web_session
from backend.db import session_scope
from backend.reconciliation.models import ReconciliationRun, RunStatus
from backend.reconciliation.service import reconcile_now
from primsell.state.admin import reconciliation
from primsell.state.admin.reconciliation import AdminReconciliationState
from tests.factories import make_user
from tests.state.harness import Tab, web_cookie


def _revoke(how: str, cookie: str, email: str) -> None:
    if how == "signed_out":
        end_web_session(cookie)
    else:  # no longer a platform admin (nor anything else): the admin surface is closed to them
        with session_scope() as session:
            user_id = session.exec(select(User.id).where(User.email == email)).one()
            session.exec(delete(Membership).where(Membership.user_id == user_id))  # type: ignore[call-overload]


@pytest.mark.parametrize("how", ["signed_out", "no_longer_admin"])
def test_following_a_run_stops_when_the_person_is_gone(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setattr(reconciliation, "PROGRESS_EVERY_S", 0.05)
    admin = make_user(Role.PLATFORM_ADMIN, email="root@example.com")
    run_id, _ = reconcile_now(admin)  # a run going on (in another process, say) that does not finish meanwhile
    cookie = web_cookie("root@example.com")
    tab = Tab(cookie, "/admin/reconciliation")
    tab.load_admin_page("/admin/reconciliation")
    tab.run(AdminReconciliationState.run_now)  # follows the run going on
    state = tab.state(AdminReconciliationState)
    assert state.running and state._run_id == run_id and not state._execute

    # A background handler: in a thread of its own (with this thread's context, as Tab.run gives its own thread).
    follower = threading.Thread(target=contextvars.copy_context().run,
                                args=(tab.run, AdminReconciliationState.follow_run), daemon=True)
    follower.start()
    try:
        time.sleep(0.3)
        assert follower.is_alive()  # following while the person is there
        _revoke(how, cookie, "root@example.com")
        follower.join(timeout=30)  # returns as soon as it stops; 30 s holds on a loaded machine
        assert not follower.is_alive(), "kept following the run for someone no longer signed in as an admin"
        assert not state.running
    finally:
        with session_scope() as session:  # end the run, so that a follower still going stops
            session.exec(update(ReconciliationRun).where(ReconciliationRun.id == run_id)  # type: ignore[call-overload]
                         .values(status=RunStatus.FAILED))
        follower.join(timeout=5)

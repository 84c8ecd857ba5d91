"""The Reconciliation page's service: platform admins read every brand's totals and exceptions, a brand admin only
their brand's (another brand is not found, staff and consumers are refused); "Run now" runs for the actor's scope and
follows a run already going on instead of starting a second."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from backend.auth.acl import Role
from backend.db import session_scope, utcnow
from backend.errors import Forbidden, NotAuthenticated, NotFound
from backend.reconciliation.models import (
    ExceptionKind,
    ReconciliationException,
    ReconciliationRun,
    ReconciliationTotal,
    RunStatus,
    RunTrigger,
)
from backend.reconciliation.service import latest_report, reconcile_now, run_reconciliation, run_view
from tests.factories import make_brand, make_user


def _seed_run(brand_a: int, brand_b: int) -> int:
    with session_scope() as session:
        run = ReconciliationRun(trigger=RunTrigger.NIGHTLY, since=utcnow(), status=RunStatus.EXCEPTIONS,
                                finished_at=utcnow(), orders_checked=3, exception_count=3)
        session.add(run)
        session.flush()
        session.add_all([
            ReconciliationTotal(run_id=run.id, brand_id=brand_a, currency="USD", money_in_minor=5000,
                                orders_paid_minor=5000, tokens_sold=2, tokens_minted=2, tokens_on_chain=3),
            ReconciliationTotal(run_id=run.id, brand_id=brand_b, currency="USD", money_in_minor=700,
                                orders_paid_minor=700),
            ReconciliationTotal(run_id=run.id, brand_id=None, currency="EUR", money_in_minor=100),
            ReconciliationException(run_id=run.id, brand_id=brand_a, order_id=11, kind=ExceptionKind.MINTED_TWICE,
                                    reason="3 tokens on chain for an order of 2."),
            ReconciliationException(run_id=run.id, brand_id=brand_b, order_id=12,
                                    kind=ExceptionKind.AMOUNT_MISMATCH, reason="b's"),
            ReconciliationException(run_id=run.id, brand_id=None, kind=ExceptionKind.ORPHAN_CHARGE, reason="none's"),
        ])
        return int(run.id)  # type: ignore[arg-type]


def test_each_admin_reads_only_what_is_theirs() -> None:
    a, b = make_brand(), make_brand()
    run_id = _seed_run(a.id, b.id)  # type: ignore[arg-type]
    platform = latest_report(make_user(Role.PLATFORM_ADMIN))
    assert platform.run is not None and platform.run.id == run_id and platform.exceptions_total == 3
    assert platform.totals["USD"].money_in_minor == 5700 and platform.totals["EUR"].money_in_minor == 100

    admin_a = make_user(Role.BRAND_ADMIN, a)
    mine = latest_report(admin_a, a.id)
    assert [(e.kind, e.order_id) for e in mine.exceptions] == [("minted_twice", 11)]
    assert list(mine.totals) == ["USD"] and mine.totals["USD"].money_in_minor == 5000
    assert mine.totals["USD"].tokens_on_chain == 3
    with pytest.raises(NotFound):
        latest_report(admin_a, b.id)  # another brand's report, as if it did not exist
    with pytest.raises(Forbidden):
        latest_report(make_user(Role.BRAND_STAFF, a), a.id)
    with pytest.raises(Forbidden):
        latest_report(make_user(), a.id)
    with pytest.raises(NotAuthenticated):
        latest_report(None)


def test_nothing_run_yet_is_an_empty_report() -> None:
    report = latest_report(make_user(Role.PLATFORM_ADMIN))
    assert report.run is None and report.running is None and report.exceptions == [] and report.totals == {}


def test_run_now_runs_for_the_actors_scope_and_follows_a_run_going_on() -> None:
    a = make_brand()
    admin_a = make_user(Role.BRAND_ADMIN, a)
    run_id, new = reconcile_now(admin_a, a.id)
    assert new
    assert reconcile_now(admin_a, a.id) == (run_id, False)  # one at a time per scope
    platform_id, platform_new = reconcile_now(make_user(Role.PLATFORM_ADMIN))
    assert platform_new and platform_id != run_id
    report = latest_report(admin_a, a.id)
    # The newest run covering the brand is going on: the platform-wide one.
    assert report.run is None and report.running is not None and report.running.id == platform_id
    summary = run_reconciliation(run_id=run_id)
    assert summary.brand_id == a.id and summary.status is RunStatus.CLEAN
    report = latest_report(admin_a, a.id)
    assert report.run is not None and report.run.status == "clean" and report.run.scope == a.name
    with session_scope() as session:
        assert session.get(ReconciliationRun, run_id).requested_by == admin_a.user_id  # type: ignore[union-attr]


def test_a_brand_admin_sees_only_their_brands_part_of_a_platform_wide_run() -> None:
    a, b = make_brand(), make_brand()
    run_id = _seed_run(a.id, b.id)  # type: ignore[arg-type]
    with session_scope() as session:  # the run checked 2 orders of brand a and 1 of brand b
        for brand_id, orders in ((a.id, 2), (b.id, 1)):
            session.execute(update(ReconciliationTotal).where(ReconciliationTotal.run_id == run_id,
                                                              ReconciliationTotal.brand_id == brand_id)
                            .values(orders_paid=orders))
    admin_a = make_user(Role.BRAND_ADMIN, a)
    platform_admin = make_user(Role.PLATFORM_ADMIN)
    assert latest_report(platform_admin).run.orders_checked == 3  # type: ignore[union-attr]
    mine = latest_report(admin_a, a.id).run
    assert mine is not None and mine.id == run_id and mine.orders_checked == 2

    secret = f"ChainReadError: campaign 4242 of brand {b.name} at 0xbbbb: node said no"
    with session_scope() as session:
        failed = ReconciliationRun(trigger=RunTrigger.NIGHTLY, since=utcnow(), status=RunStatus.FAILED,
                                   finished_at=utcnow(), error=secret)
        going = ReconciliationRun(trigger=RunTrigger.MANUAL, since=utcnow(), status=RunStatus.RUNNING,
                                  stage="reading the chain: campaign 4242")
        session.add_all([failed, going])
        session.flush()
        going_id = int(going.id)  # type: ignore[arg-type]
    everything = latest_report(platform_admin)
    assert everything.run.error == secret  # type: ignore[union-attr]
    assert everything.running.stage == "reading the chain: campaign 4242"  # type: ignore[union-attr]
    mine_now = latest_report(admin_a, a.id)
    assert mine_now.run is not None and mine_now.run.status == "failed" and mine_now.run.orders_checked == 0
    assert mine_now.run.error and "4242" not in mine_now.run.error and b.name not in mine_now.run.error
    assert mine_now.running is not None and mine_now.running.stage == "reading the chain"
    assert run_view(admin_a, going_id, a.id).stage == "reading the chain"
    assert run_view(platform_admin, going_id).stage == "reading the chain: campaign 4242"

"""The Operations page service, retention, the registry and `python -m jobs --once`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.auth.acl import Role
from backend.db import session_scope, utcnow
from backend.errors import Forbidden
from backend.monitoring.errors import record_error
from backend.operations import service
from backend.operations.models import JobRun, RunOutcome
from backend.operations.retention import clean_old_rows
from backend.workflow import kick, outbox
from backend.workflow.models import OutboxDelivery, OutboxEvent
from jobs.registry import DAEMONS
from jobs.runner import run_once
from jobs.scheduler import beat
from tests.factories import make_brand, make_user


@pytest.fixture
def always_failing():  # type: ignore[no-untyped-def]
    calls = {"fail": True}

    @outbox.subscriber("order.paid", name="t.ops")
    def handler(session, event):  # type: ignore[no-untyped-def]
        if calls["fail"]:
            raise RuntimeError("nope")

    yield calls
    outbox.unregister("t.ops")


# Each daemon's module, named verb_noun. Only implemented daemons are registered.
IMPLEMENTED = {
    "outbox_relay": "jobs.relay_outbox",
    "fx_rate_refresher": "jobs.refresh_fx_rates",
    "retention_cleaner": "jobs.clean_old_rows",
    "contract_deployer": "jobs.deploy_contracts",
    "mint_dispatcher": "jobs.dispatch_mints",
    "tx_monitor": "jobs.monitor_transactions",
    "email_sender": "jobs.send_emails",
    "order_expirer": "jobs.expire_orders_and_send_refunds",
    "chain_indexer": "jobs.index_chain",
    "royalty_calculator": "jobs.calculate_royalties",
    "opensea_sales_poller": "jobs.poll_opensea_sales",
    "rarible_sales_poller": "jobs.poll_rarible_sales",
    "reconciler": "jobs.reconcile_payments",
    "reward_distributor": "jobs.distribute_rewards",
}


def test_registry_lists_only_implemented_daemons_with_verb_noun_modules() -> None:
    assert {d.name: d.run.__module__ for d in DAEMONS} == IMPLEMENTED


def test_overview_shows_daemons_backlog_dead_letters_and_errors(always_failing, configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_MAX_ATTEMPTS=1)
    # A platform admin sees every row (a brand admin only its own brand's: tests/security/test_operations_scope.py).
    admin = make_user(Role.PLATFORM_ADMIN)
    with session_scope() as session:
        ev = outbox.emit(session, "order.paid", {"order": 1}, entity=("order", 1))
    run_once("outbox_relay", lambda ctx: outbox.relay().failed, holder="runner-a", lease_s=5, every_s=5)
    beat("runner-a", utcnow())
    view = service.overview(admin)
    [relay] = [d for d in view.daemons if d.name == "outbox_relay"]
    assert (relay.last_outcome, relay.last_items, relay.lease_holder) == ("ok", 1, None)
    assert relay.next_run_at is not None and relay.last_duration_s is not None
    assert [d.event_id for d in view.dead_letters] == [ev.id]
    assert view.backlog.dead == 1 and view.backlog.pending == 0
    assert view.errors[0].source == "subscriber:t.ops"
    assert view.scheduler.healthy and view.scheduler.runners == 1
    assert view.subscriptions["order.paid"] == ["t.ops"]

    always_failing["fail"] = False
    assert service.retry_dead_letter(admin, ev.id) == 1
    kick.wait_for_kick()
    assert service.overview(admin).backlog.dead == 0


def test_operations_page_is_for_admins_only() -> None:
    brand = make_brand()
    with pytest.raises(Forbidden):
        service.overview(make_user(Role.BRAND_STAFF, brand))
    assert service.overview(make_user(Role.PLATFORM_ADMIN)).daemons == []


def test_heartbeat_reports_no_runner_when_none_beat_recently() -> None:
    assert not service.scheduler_heartbeat().healthy
    beat("runner-old", utcnow())
    assert service.scheduler_heartbeat().healthy


def test_retention_deletes_only_old_finished_rows(configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_RETENTION_DAYS=7, JOB_RUN_RETENTION_DAYS=7, ERROR_LOG_RETENTION_DAYS=7)

    @outbox.subscriber("order.paid", name="t.retention")
    def handler(session, event):  # type: ignore[no-untyped-def]
        pass

    try:
        with session_scope() as session:
            for n in range(5):
                outbox.emit(session, "order.paid", {"order": n})
        outbox.relay()
        with session_scope() as session:
            outbox.emit(session, "order.paid", {"order": 99})  # old but still pending: kept
            session.flush()
            session.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(days=8)))
            session.add(JobRun(job_name="x", holder="h", started_at=utcnow() - timedelta(days=8),
                               finished_at=utcnow(), outcome=RunOutcome.OK))
            session.add(JobRun(job_name="x", holder="h", started_at=utcnow(), outcome=RunOutcome.OK))
        record_error("daemon:x", RuntimeError("old"), now=utcnow() - timedelta(days=8))
        assert clean_old_rows(batch_size=2) == 5 + 1 + 1
        with session_scope() as session:
            assert [e.payload["order"] for e in session.execute(select(OutboxEvent)).scalars()] == [99]
            assert len(session.execute(select(OutboxDelivery)).all()) == 1
            assert len(session.execute(select(JobRun)).all()) == 1
    finally:
        outbox.unregister("t.retention")


def test_python_m_jobs_once_runs_the_daemons() -> None:
    out = subprocess.run([sys.executable, "-m", "jobs", "--once"], env=os.environ.copy(), capture_output=True,
                         text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "outbox_relay: ran, ok" in out.stdout and "retention_cleaner: ran, ok" in out.stdout


def test_retention_deletes_siwe_nonces_a_day_after_they_expired() -> None:
    from backend.auth.siwe import issue_nonce
    from backend.rewards.models import SiweNonce

    fresh, _ = issue_nonce()
    used_long_ago, _ = issue_nonce()
    expired_lately, _ = issue_nonce()
    with session_scope() as session:
        session.execute(update(SiweNonce).where(SiweNonce.nonce == used_long_ago).values(  # type: ignore[arg-type]
            expires_at=utcnow() - timedelta(days=2), used_at=utcnow() - timedelta(days=2)))
        session.execute(update(SiweNonce).where(SiweNonce.nonce == expired_lately).values(  # type: ignore[arg-type]
            expires_at=utcnow() - timedelta(hours=2)))

    assert clean_old_rows() == 1
    with session_scope() as session:
        assert set(session.execute(select(SiweNonce.nonce)).scalars()) == {fresh, expired_lately}

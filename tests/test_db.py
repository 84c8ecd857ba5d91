"""The shared column types and the schema's own guards: UTC datetimes, enums stored by value, check constraints."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from backend.auth.acl import Role
from backend.auth.models import Membership
from backend.campaigns.models import Campaign, CampaignStatus
from backend.db import get_engine, session_scope, utcnow
from tests.conftest import TEST_DB, empty_all_tables
from tests.factories import campaign_fields, make_brand, make_campaign, make_user


def test_utc_datetime_round_trip_keeps_the_instant_and_utc():
    brand = make_brand()
    local = datetime(2030, 6, 1, 18, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-7)))
    campaign = make_campaign(brand, sale_starts_at=local, sale_ends_at=local + timedelta(days=1))
    with session_scope() as session:
        stored = session.get(Campaign, campaign.id)
        assert stored is not None
        assert stored.sale_starts_at == datetime(2030, 6, 2, 1, 30, 15, 123456, tzinfo=UTC)
        assert stored.sale_starts_at.tzinfo is UTC
        raw = session.exec(text("SELECT sale_starts_at FROM campaign WHERE id = :i").bindparams(i=campaign.id)).one()[0]
    # The column holds naive UTC on every backend.
    assert str(raw).startswith("2030-06-02 01:30:15")


def test_naive_datetime_is_refused_by_the_column_type():
    brand = make_brand()
    with pytest.raises(StatementError, match="naive datetimes are refused"), session_scope() as session:
        session.add(Campaign(brand_id=brand.id, **campaign_fields(sale_starts_at=datetime(2030, 1, 1))))


def test_enums_are_stored_by_their_value():
    brand = make_brand()
    make_user(Role.BRAND_STAFF, brand)
    campaign = make_campaign(brand, status=CampaignStatus.PAUSED)
    with session_scope() as session:
        status = session.exec(text("SELECT status FROM campaign WHERE id = :i").bindparams(i=campaign.id)).one()[0]
        role = session.exec(text("SELECT role FROM membership WHERE brand_id = :b").bindparams(b=brand.id)).one()[0]
        loaded = session.get(Campaign, campaign.id)
    assert status == "paused"
    assert role == "brand_staff"
    assert loaded is not None and loaded.status is CampaignStatus.PAUSED


@pytest.mark.parametrize(
    ("column", "value"),
    [("price_minor", -1), ("supply_cap", 0), ("sold_count", -1), ("sold_count", 101), ("royalty_bps", -1),
     ("royalty_bps", 10_001), ("status", "'launched'")],
)
def test_check_constraints_reject_bad_rows_written_past_the_service(column: str, value: object):
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=100)
    with pytest.raises(IntegrityError), session_scope() as session:
        session.exec(text(f"UPDATE campaign SET {column} = {value} WHERE id = :i").bindparams(i=campaign.id))
    with session_scope() as session:
        stored = session.get(Campaign, campaign.id)
        assert stored is not None and (stored.price_minor, stored.supply_cap, stored.sold_count) == (2500, 100, 0)


def test_orm_insert_of_a_bad_campaign_is_rejected_by_the_database():
    brand = make_brand()
    with pytest.raises(IntegrityError), session_scope() as session:
        session.add(Campaign(brand_id=brand.id, **campaign_fields(price_minor=-5)))
    with session_scope() as session:
        assert session.exec(text("SELECT COUNT(*) FROM campaign")).one()[0] == 0


def test_one_membership_per_user_and_brand():
    brand = make_brand()
    actor = make_user(Role.BRAND_STAFF, brand)
    with pytest.raises(IntegrityError), session_scope() as session:
        session.add(Membership(user_id=actor.user_id, brand_id=brand.id, role=Role.BRAND_ADMIN, created_at=utcnow()))


def test_deleting_a_brand_cascades_to_its_campaigns_and_memberships():
    brand = make_brand()
    make_user(Role.BRAND_ADMIN, brand)
    make_campaign(brand)
    with session_scope() as session:
        session.exec(text("DELETE FROM brand WHERE id = :i").bindparams(i=brand.id))
    with session_scope() as session:
        assert session.exec(text("SELECT COUNT(*) FROM campaign")).one()[0] == 0
        assert session.exec(text("SELECT COUNT(*) FROM membership")).one()[0] == 0


@pytest.mark.skipif(TEST_DB != "postgresql", reason="TRUNCATE and its table locks are PostgreSQL's")
def test_emptying_the_tables_outlasts_a_deadlock_with_another_connection():
    """Another process still writing when a test ends (a served API relaying its outbox) can deadlock with the
    clean-up's TRUNCATE; PostgreSQL aborts the TRUNCATE (it waited first), and the clean-up tries again."""
    make_brand()
    engine = get_engine()
    truncate_waits, other_done = threading.Event(), threading.Event()
    outcome: list[str] = []

    def other_process() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM brand FOR KEY SHARE"))  # what an FK check on insert takes
            truncate_waits.wait(30)
            try:
                conn.execute(text("SELECT 1 FROM reward_period_sale LIMIT 1"))  # a table the TRUNCATE locked first
                time.sleep(0.3)
                conn.commit()
                outcome.append("committed")
            except OperationalError:
                outcome.append("deadlock victim")
        other_done.set()

    thread = threading.Thread(target=other_process)
    thread.start()
    watcher = threading.Thread(target=_set_when_waiting_on_brand, args=(truncate_waits,))
    watcher.start()
    empty_all_tables()
    thread.join(30)
    watcher.join(30)
    assert other_done.is_set() and outcome == ["committed"]
    with session_scope() as session:
        assert session.exec(text("SELECT count(*) FROM brand")).one()[0] == 0


def _set_when_waiting_on_brand(event: threading.Event) -> None:
    deadline = time.monotonic() + 30
    with get_engine().connect() as conn:
        while time.monotonic() < deadline and not event.is_set():
            waiting = conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                        "AND relation = 'brand'::regclass")).scalar_one()
            conn.rollback()
            if waiting:
                event.set()
            time.sleep(0.05)


@pytest.mark.skipif(TEST_DB != "postgresql", reason="the ping before use is PostgreSQL's (SQLite has no server)")
def test_a_pooled_connection_is_pinged_only_after_sitting_idle_and_replaced_when_the_server_dropped_it(
        migrated_database: str, monkeypatch: pytest.MonkeyPatch):
    from backend import db

    engine = db.build_engine(migrated_database)
    pings: list[int] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))

    def backend_pid() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    try:
        first = backend_pid()
        assert [backend_pid() for _ in range(5)] == [first] * 5 and pings == []  # back from use a moment ago
        with get_engine().connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # as if it had sat in the pool for a while
        replaced = backend_pid()
        assert replaced != first and len(pings) == 1
    finally:
        engine.dispose()

"""Browser journeys of the Operations page: daemons and heartbeat, access, retrying a dead letter, entity history."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.auth.acl import Role
from backend.db import get_engine, session_scope, utcnow
from backend.demo import DEMO_ACCOUNTS
from backend.workflow import outbox, outbox_admin
from backend.workflow.machines import ORDER, OrderState
from backend.workflow.transitions import transition
from jobs import lease, relay_outbox
from jobs.registry import DAEMONS
from jobs.runner import run_once
from jobs.scheduler import beat, forget
from tests.e2e.conftest import Tab
from tests.e2e.helpers import sign_in

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}
PLATFORM_ADMIN = ACCOUNTS[Role.PLATFORM_ADMIN]
BRAND_ADMIN = ACCOUNTS[Role.BRAND_ADMIN]
STAFF = ACCOUNTS[Role.BRAND_STAFF]
RUNNER = "e2e-host:1:runner"
FAILING_TOPIC = "e2e.thing_happened"
FAILING_SUBSCRIBER = "e2e.always_fails"


@pytest.fixture
def running_scheduler() -> Iterator[None]:
    """What a live runner leaves in the database: every registered daemon's lease row, one finished run of
    the outbox relay, and a fresh heartbeat."""
    with session_scope() as session:
        lease.ensure_lease_rows(session, {d.name: d.schedule for d in DAEMONS})
    result = run_once("outbox_relay", relay_outbox.run, holder=RUNNER, lease_s=30, every_s=5)
    assert result.ran
    beat(RUNNER, utcnow())
    yield
    forget(RUNNER)


@pytest.fixture
def failing_subscriber() -> Iterator[None]:
    def always_fails(_session, _event) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the e2e subscriber always fails")

    outbox.subscriber(FAILING_TOPIC, name=FAILING_SUBSCRIBER)(always_fails)
    yield
    outbox.unregister(FAILING_SUBSCRIBER)


def seed_dead_letter() -> int:
    """A real event, fanned out to the failing subscriber, relayed until its delivery is dead."""
    with session_scope() as session:
        event = outbox.emit(session, FAILING_TOPIC, {"n": 1}, entity=("order", 9001))
        session.flush()
        event_id = event.id
    for _ in range(5):
        if outbox.relay_pass(max_attempts=1).dead:
            break
    with session_scope() as session:
        assert [d.event_id for d in outbox_admin.dead_letters(session)] == [event_id]
    return event_id


def open_operations(tab: Tab, email: str, password: str) -> None:
    page = tab.page
    sign_in(tab, email, password)
    expect(page.locator("#signed-in-email")).to_have_text(email)
    page.get_by_role("link", name="Operations").click()
    expect(page).to_have_url(re.compile(r"/admin/operations/?$"))


def test_platform_admin_sees_daemons_heartbeat_and_no_dead_letters(tab: Tab, running_scheduler: None) -> None:
    page = tab.page
    open_operations(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)

    rows = page.get_by_test_id("daemon-row")
    expect(rows).to_have_count(len(DAEMONS))
    for daemon in DAEMONS:
        expect(rows.filter(has_text=daemon.name)).to_contain_text(daemon.schedule)
    relay_row = rows.filter(has_text="outbox_relay")
    expect(relay_row).to_contain_text("OK")
    expect(relay_row).to_contain_text(" UTC")
    expect(rows.filter(has_text="retention_cleaner")).to_contain_text("Never run")

    heartbeat = page.locator("#scheduler-heartbeat")
    expect(heartbeat).to_contain_text("Healthy")
    expect(heartbeat).to_contain_text("1 runner alive")
    expect(page.get_by_test_id("backlog-dead")).to_have_text("0")
    expect(page.get_by_test_id("dead-letters-empty")).to_have_text("No dead letters")
    expect(page.get_by_test_id("table-empty")).to_have_text("No errors recorded")
    expect(page.get_by_test_id("table-page")).to_have_text("Page 1 of 1")
    expect(page.locator("#refreshed-at")).to_contain_text("Auto-refresh every 5 s")
    tab.screenshot("admin-operations")
    tab.assert_no_console_errors()


def test_staff_has_no_operations_entry_and_gets_the_no_access_page(tab: Tab) -> None:
    page = tab.page
    sign_in(tab, STAFF.email, STAFF.password)
    expect(page.locator("#signed-in-email")).to_have_text(STAFF.email)
    expect(page.get_by_role("link", name="Members")).to_be_visible()
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)

    tab.goto("/admin/operations")
    expect(page.locator("#no-access")).to_have_text("You don't have access to this area")
    expect(page.get_by_test_id("daemon-row")).to_have_count(0)
    tab.assert_no_console_errors()


def test_brand_admin_sees_operations_but_not_the_entity_lookup(tab: Tab, running_scheduler: None) -> None:
    page = tab.page
    open_operations(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.get_by_test_id("daemon-row")).to_have_count(len(DAEMONS))
    expect(page.get_by_text("Entity history lookup is limited to platform admins.")).to_be_visible()
    expect(page.locator("#history-entity-id")).to_have_count(0)
    tab.assert_no_console_errors()


def test_a_dead_letter_appears_by_itself_and_retry_requeues_it(
    tab: Tab, running_scheduler: None, failing_subscriber: None
) -> None:
    page = tab.page
    open_operations(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)
    expect(page.get_by_test_id("dead-letters-empty")).to_be_visible()

    # Seeded after the page loaded: the auto-refresh brings it in, no click needed.
    event_id = seed_dead_letter()
    dead = page.get_by_test_id("dead-letter-row")
    expect(dead).to_have_count(1, timeout=30_000)
    expect(dead).to_contain_text(FAILING_TOPIC)
    expect(dead).to_contain_text("RuntimeError: the e2e subscriber always fails")
    expect(page.get_by_test_id("backlog-dead")).to_have_text("1")
    expect(page.get_by_test_id("error-row").filter(has_text=f"subscriber:{FAILING_SUBSCRIBER}")).to_be_visible()

    dead.get_by_role("button", name="Retry").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Retry this event?")
    dialog.get_by_role("button", name="Retry").click()
    expect(page.get_by_text(f"Event {event_id} re-queued (1 delivery).")).to_be_visible()
    expect(page.get_by_test_id("dead-letters-empty")).to_be_visible()
    expect(page.get_by_test_id("dead-letter-row")).to_have_count(0)
    tab.screenshot("admin-operations-retried")
    tab.assert_no_console_errors()


class _TestBase(DeclarativeBase):
    metadata = MetaData()  # not the app's metadata: migrations and the table-emptying fixture never see it


class E2eOrder(_TestBase):
    """A test-only entity with the order machine: no orders table exists yet."""

    __tablename__ = "e2e_test_order"
    __state_machine__ = ORDER
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default=OrderState.CREATED.value)
    version: Mapped[int] = mapped_column(Integer, default=0)


@pytest.fixture
def order_with_history() -> Iterator[int]:
    """An entity moved by the real transition(), which writes the history rows the page reads."""
    _TestBase.metadata.create_all(get_engine())
    with session_scope() as session:
        order = E2eOrder(id=4242, state=OrderState.CREATED.value, version=0)
        session.add(order)
        session.flush()
        transition(session, order, "request_payment", actor="user:7", reason="checkout started")
        transition(session, order, "pay", actor="system", reason="stripe payment_intent.succeeded")
    yield 4242
    _TestBase.metadata.drop_all(get_engine())


def test_entity_history_lookup_shows_the_timeline(tab: Tab, order_with_history: int) -> None:
    page = tab.page
    open_operations(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)

    page.locator("#history-entity-type").select_option("order")
    page.locator("#history-entity-id").fill("abc")
    page.get_by_role("button", name="Show history").click()
    expect(page.locator("#history-id-error")).to_have_text("Enter a numeric id.")

    page.locator("#history-entity-id").fill(str(order_with_history))
    page.get_by_role("button", name="Show history").click()
    entries = page.get_by_test_id("timeline-entry")
    expect(entries).to_have_count(2)
    expect(page.locator("#history-id-error")).to_have_count(0)
    expect(entries.nth(0)).to_contain_text("Created")
    expect(entries.nth(0)).to_contain_text("Awaiting payment")
    expect(entries.nth(0)).to_contain_text("request_payment")
    expect(entries.nth(0)).to_contain_text("user:7")
    expect(entries.nth(0)).to_contain_text("checkout started")
    expect(entries.nth(1)).to_contain_text("Paid")
    expect(entries.nth(1)).to_contain_text("stripe payment_intent.succeeded")
    expect(entries.nth(1)).to_contain_text(" UTC")
    page.locator("#history-result").scroll_into_view_if_needed()
    tab.screenshot("admin-operations-history")

    page.locator("#history-entity-type").select_option("kyc_case")
    page.get_by_role("button", name="Show history").click()
    expect(page.get_by_test_id("timeline-empty")).to_have_text("No state changes recorded for this entity.")
    expect(entries).to_have_count(0)
    tab.assert_no_console_errors()

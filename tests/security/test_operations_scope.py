"""Brand admins see only their own brand on the Operations page: the errors, dead letters and retries of other
brands (and the platform's own) are for platform admins. Entity history takes the reader and checks it."""

from __future__ import annotations

import pytest

from backend.auth.acl import Role
from backend.db import session_scope
from backend.errors import NotAuthenticated, NotFound
from backend.monitoring.errors import record_error
from backend.operations import service
from backend.orders import service as orders
from backend.workflow import outbox
from backend.workflow.transitions import history
from tests.factories import make_brand, make_campaign, make_user
from tests.payments.support import order_by_public

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


@pytest.fixture
def failing_subscriber():  # type: ignore[no-untyped-def]
    @outbox.subscriber("scope.test", name="t.scope")
    def handler(session, event):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"cannot handle {event.entity_type} {event.entity_id}")

    yield
    outbox.unregister("t.scope")


def _order_of(brand) -> int:  # type: ignore[no-untyped-def]
    campaign = make_campaign(brand, price_minor=1000)
    started = orders.start_checkout(campaign.slug, 1, f"buyer-{brand.id}@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    assert order.id is not None
    return order.id


def _dead_letter_for(entity: tuple[str, int]) -> int:
    with session_scope() as session:
        event = outbox.emit(session, "scope.test", {}, entity=entity)
        session.flush()
        event_id = event.id
    outbox.relay()
    assert event_id is not None
    return event_id


def test_brand_admins_see_only_their_brands_errors_and_dead_letters(failing_subscriber, configure) -> None:
    configure(OUTBOX_MAX_ATTEMPTS=1)
    brand_a, brand_b = make_brand(), make_brand()
    order_a, order_b = _order_of(brand_a), _order_of(brand_b)
    event_a = _dead_letter_for(("order", order_a))
    event_b = _dead_letter_for(("order", order_b))
    event_platform = _dead_letter_for(("chain_tx", 999_999))  # no brand
    record_error("daemon:tx_monitor", RuntimeError("RPC down"), {"holder": "runner-1"})
    record_error("payments:refund_failed", RuntimeError("refund of brand B refused"), {"order_id": order_b})

    admin_a = make_user(Role.BRAND_ADMIN, brand_a)
    view = service.overview(admin_a)
    assert [d.event_id for d in view.dead_letters] == [event_a]
    assert view.backlog.dead == 1  # the count matches the list
    assert [e.message for e in view.errors] == [f"cannot handle order {order_a}"]
    assert view.errors_total == 1
    errors, total = service.error_log(admin_a)
    assert total == 1 and "brand B" not in str([e.message for e in errors])

    platform = make_user(Role.PLATFORM_ADMIN)
    everything = service.overview(platform)
    assert {d.event_id for d in everything.dead_letters} == {event_a, event_b, event_platform}
    assert everything.backlog.dead == 3
    assert {e.message for e in everything.errors} >= {"RPC down", "refund of brand B refused",
                                                      f"cannot handle order {order_b}"}

    # Another brand's (or the platform's) dead letter cannot be retried by a brand admin: it does not exist for it.
    for other in (event_b, event_platform):
        with pytest.raises(NotFound):
            service.retry_dead_letter(admin_a, other)
    assert service.retry_dead_letter(admin_a, event_a) == 1
    assert service.retry_dead_letter(platform, event_b) == 1


def test_the_same_failure_in_two_brands_stays_two_rows(configure) -> None:
    brand_a, brand_b = make_brand(), make_brand()
    for order_id in (_order_of(brand_a), _order_of(brand_b)):
        record_error("orders:mint_refused", RuntimeError(f"order {order_id} cannot be minted"), {"order_id": order_id})
    assert service.error_log(make_user(Role.BRAND_ADMIN, brand_a))[1] == 1
    assert service.error_log(make_user(Role.PLATFORM_ADMIN))[1] == 2


def test_daemon_error_texts_are_for_platform_admins(configure) -> None:
    from jobs.runner import run_once

    def fails(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("order 12 of brand-b: RPC refused")

    run_once("tx_monitor", fails, holder="runner-a", lease_s=5, every_s=5)
    admin = make_user(Role.BRAND_ADMIN, make_brand())
    [daemon] = [d for d in service.overview(admin).daemons if d.name == "tx_monitor"]
    assert daemon.last_outcome == "error" and daemon.last_error == ""
    [daemon] = [d for d in service.overview(make_user(Role.PLATFORM_ADMIN)).daemons if d.name == "tx_monitor"]
    assert "RPC refused" in daemon.last_error


def test_history_takes_the_reader_and_hides_other_brands_entities() -> None:
    brand_a, brand_b = make_brand(), make_brand()
    order_a, order_b = _order_of(brand_a), _order_of(brand_b)
    admin_a, staff_a = make_user(Role.BRAND_ADMIN, brand_a), make_user(Role.BRAND_STAFF, brand_a)
    assert [h.to_state for h in history(admin_a, "order", order_a)] == ["awaiting_payment"]
    assert history(staff_a, "order", order_a)  # staff read orders too
    for reader in (admin_a, staff_a, make_user(Role.CONSUMER), make_user(Role.KYC_REVIEWER)):
        with pytest.raises(NotFound):
            history(reader, "order", order_b)
    with pytest.raises(NotFound):
        history(admin_a, "chain_tx", 1)  # no brand: platform admins only
    with pytest.raises(NotAuthenticated):
        history(None, "order", order_a)
    platform = make_user(Role.PLATFORM_ADMIN)
    assert history(platform, "order", order_b) and history(platform, "chain_tx", 1) == []

"""Admin order services: list with filters and search, CSV export with exact money, one order's timeline,
the campaign dashboard, and the manual refund (permission per brand)."""

from __future__ import annotations

import csv
import io

import pytest

from backend.auth.acl import Role
from backend.errors import Forbidden
from backend.orders import admin, service
from backend.orders.errors import RefundNotAllowed
from backend.workflow import outbox
from backend.db import session_scope
from tests.factories import make_brand, make_campaign, make_user
from backend.payments import sandbox
from tests.payments.support import order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _fulfilled(client, campaign, email: str):  # type: ignore[no-untyped-def]
    started = service.start_checkout(campaign.slug, 1, email, WALLET, "1.1.1.1")
    order = order_by_public(started.public_id)
    sandbox.pay(order.payment_session_id)
    settle()
    with session_scope() as session:
        outbox.emit(session, "mint.completed", {"key": f"order-{order.id}", "token_ids": [order.id],
                                                "tx_hash": "0x" + f"{order.id:064x}"})
    settle()
    return order_by_public(started.public_id)


def test_brand_admin_lists_searches_exports_and_refunds(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, price_minor=1250)
    paid = _fulfilled(client, campaign, "alice@example.com")
    service.start_checkout(campaign.slug, 1, "bob@example.com", WALLET, "1.1.1.1")
    boss = make_user(Role.BRAND_ADMIN, brand)

    page = admin.list_orders(boss, brand.id)
    assert page.total == 2
    assert [r.email for r in admin.list_orders(boss, brand.id, search="ALICE").items] == ["alice@example.com"]
    assert admin.list_orders(boss, brand.id, search=paid.mint_tx_hash[:20]).total == 1
    assert [r.status for r in admin.list_orders(boss, brand.id, status="awaiting_payment").items] == ["awaiting_payment"]

    rows = list(csv.DictReader(io.StringIO(admin.export_orders_csv(boss, brand.id, status="fulfilled"))))
    assert [(r["email"], r["amount"], r["currency"], r["token_ids"]) for r in rows] == [
        ("alice@example.com", "12.50", "USD", str(paid.id))]

    detail = admin.refund_order(boss, paid.id, "Customer asked")
    assert detail.order.status == "refunded" and detail.refund_reason == "Customer asked"
    kinds = [e.kind for e in detail.timeline]
    assert kinds[0] == "created" and {"state", "payment_event", "refund", "mint"} <= set(kinds)
    assert any(e.actor == f"user:{boss.user_id}" and "refund_pending" in e.title for e in detail.timeline)
    with pytest.raises(RefundNotAllowed):
        admin.refund_order(boss, paid.id, "again")

    board = admin.campaign_dashboard(boss, campaign.id)
    assert board.orders_by_status == {"refunded": 1, "awaiting_payment": 1}
    assert board.revenue_minor == {"USD": 0} and board.refunded_minor == {"USD": 1250}
    assert board.tokens_minted == 1 and board.supply_cap == campaign.supply_cap


def test_staff_can_read_but_not_refund_and_other_brands_see_nothing(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand)
    order = _fulfilled(client, campaign, "a@example.com")
    staff = make_user(Role.BRAND_STAFF, brand)
    assert admin.order_detail(staff, order.id).can_refund is False
    with pytest.raises(Forbidden):
        admin.refund_order(staff, order.id, "nope nope")
    outsider = make_user(Role.BRAND_ADMIN, make_brand())
    with pytest.raises(Forbidden):
        admin.list_orders(outsider, brand.id)
    with pytest.raises(Forbidden):
        admin.order_detail(outsider, order.id)
    with pytest.raises(Forbidden):
        admin.campaign_dashboard(outsider, campaign.id)


def test_csv_cells_cannot_start_a_formula(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, name="=HYPERLINK(1)")
    service.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "1.1.1.1")
    text = admin.export_orders_csv(make_user(Role.BRAND_ADMIN, brand), brand.id)
    assert "'=HYPERLINK(1)" in text

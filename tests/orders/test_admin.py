"""Admin order services: list with filters and search, CSV export with exact money, one order's timeline,
the campaign dashboard, and the manual refund (permission per brand)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.auth.acl import Role
from backend.auth.service import WEB_SESSION_COOKIE, begin_web_sign_in
from backend.chain.models import AttemptStatus, ChainTransaction, MintRequest, TxAttempt, TxPurpose, TxState
from backend.db import session_scope, utcnow
from backend.errors import Forbidden, NotFound, ValidationFailed
from backend.orders import admin, refunds, service
from backend.orders.errors import RefundNotAllowed
from backend.orders.models import Order
from backend.payments import sandbox
from tests.factories import PASSWORD, make_brand, make_campaign, make_user
from tests.payments.support import emit_mint_event, order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _csv(actor, brand_id: int, **filters) -> str:  # type: ignore[no-untyped-def]
    return "".join(admin.stream_orders_csv(actor, brand_id, **filters))


def _fulfilled(client, campaign, email: str):  # type: ignore[no-untyped-def]
    started = service.start_checkout(campaign.slug, 1, email, WALLET, "1.1.1.1")
    order = order_by_public(started.public_id)
    sandbox.pay(order.payment_session_id)
    settle()
    emit_mint_event("mint.completed", {"key": f"order-{order.id}", "token_ids": [order.id],
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
    awaiting = admin.list_orders(boss, brand.id, status="awaiting_payment").items
    assert [r.status for r in awaiting] == ["awaiting_payment"]

    rows = list(csv.DictReader(io.StringIO(_csv(boss, brand.id, status="fulfilled"))))
    assert [(r["email"], r["amount"], r["currency"], r["token_ids"]) for r in rows] == [
        ("alice@example.com", "12.50", "USD", str(paid.id))]

    refunds.refund_order(boss, paid.id, "Customer asked")
    detail = admin.order_detail(boss, paid.id)
    assert detail.order.status == "refunded" and detail.refund_reason == "Customer asked"
    kinds = [e.kind for e in detail.timeline]
    assert kinds[0] == "created" and {"state", "payment_event", "refund", "mint"} <= set(kinds)
    assert detail.timeline[0].detail == "1 x $12.50 = $12.50 by alice@example.com"  # major units, not 1250
    assert any(e.actor == f"user:{boss.user_id}" and "refund_pending" in e.title for e in detail.timeline)
    with pytest.raises(RefundNotAllowed):
        refunds.refund_order(boss, paid.id, "again")

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
        refunds.refund_order(staff, order.id, "nope nope")
    # Another brand's rows look the same as rows that do not exist.
    outsider = make_user(Role.BRAND_ADMIN, make_brand())
    with pytest.raises(NotFound):
        admin.list_orders(outsider, brand.id)
    with pytest.raises(NotFound):
        admin.order_detail(outsider, order.id)
    with pytest.raises(NotFound):
        refunds.refund_order(outsider, order.id, "not mine")
    with pytest.raises(NotFound):
        admin.campaign_dashboard(outsider, campaign.id)


def test_csv_cells_cannot_start_a_formula(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, name="=HYPERLINK(1)")
    service.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "1.1.1.1")
    text = _csv(make_user(Role.BRAND_ADMIN, brand), brand.id)
    assert "'=HYPERLINK(1)" in text


def test_orders_filter_by_campaign_and_date_and_page_through_in_a_stable_order(client) -> None:
    brand = make_brand()
    first, second = make_campaign(brand, per_wallet_cap=0), make_campaign(brand, per_wallet_cap=0)
    boss = make_user(Role.BRAND_ADMIN, brand)
    placed = [service.start_checkout((first if n % 2 else second).slug, 1, f"b{n}@example.com", WALLET, "1.1.1.1")
              for n in range(7)]
    day = timedelta(days=1)
    with session_scope() as session:  # spread the orders over a week: order n was placed n days ago
        for n, started in enumerate(placed):
            session.execute(update(Order).where(Order.public_id == started.public_id)
                            .values(created_at=utcnow() - n * day - timedelta(hours=1)))

    assert admin.list_orders(boss, brand.id, campaign_id=first.id).total == 3
    assert {r.campaign_id for r in admin.list_orders(boss, brand.id, campaign_id=second.id).items} == {second.id}
    recent = admin.list_orders(boss, brand.id, date_from=utcnow() - 3 * day)
    assert sorted(r.email for r in recent.items) == ["b0@example.com", "b1@example.com", "b2@example.com"]
    window = admin.list_orders(boss, brand.id, date_from=utcnow() - 5 * day, date_to=utcnow() - 2 * day)
    assert sorted(r.email for r in window.items) == ["b2@example.com", "b3@example.com", "b4@example.com"]

    pages = [admin.list_orders(boss, brand.id, limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [p.total for p in pages] == [7, 7, 7] and [len(p.items) for p in pages] == [3, 3, 1]
    assert [r.email for p in pages for r in p.items] == [f"b{n}@example.com" for n in range(7)]  # newest first
    oldest_first = admin.list_orders(boss, brand.id, descending=False, limit=2)
    assert [r.email for r in oldest_first.items] == ["b6@example.com", "b5@example.com"]
    with pytest.raises(ValidationFailed):
        admin.list_orders(boss, brand.id, status="lost_in_space")


def test_search_takes_underscore_and_percent_literally(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, per_wallet_cap=0)
    boss = make_user(Role.BRAND_ADMIN, brand)
    for email in ("first_last@x.com", "firstalast@x.com", "first%last@x.com", "firstlast@x.com"):
        service.start_checkout(campaign.slug, 1, email, WALLET, "1.1.1.1")

    def found(term: str) -> list[str]:
        return sorted(r.email for r in admin.list_orders(boss, brand.id, search=term).items)

    assert found("first_last@x.com") == ["first_last@x.com"]  # `_` is not "any one character"
    assert found("t_l") == ["first_last@x.com"]
    assert found("%last") == ["first%last@x.com"]  # `%` is not "anything"
    assert found("t/l") == []  # nor is the escape character itself special
    assert found("FIRSTLAST@") == ["firstlast@x.com"]


def test_a_mint_still_in_flight_is_found_by_its_transaction_hash(client) -> None:
    """The order page shows the mint's hash as soon as it is signed; support must find the order by it, by the
    hash of an earlier (fee-bumped) attempt too, before the mint confirms."""
    brand = make_brand()
    campaign = make_campaign(brand)
    boss = make_user(Role.BRAND_ADMIN, brand)
    started = service.start_checkout(campaign.slug, 1, "waiting@example.com", WALLET, "1.1.1.1")
    sandbox.pay(order_by_public(started.public_id).payment_session_id)
    settle()
    order = order_by_public(started.public_id)
    assert order.state.value == "minting" and order.mint_tx_hash == ""
    first, latest = "0x" + "a1" * 32, "0x" + "b2" * 32
    with session_scope() as session:
        tx = ChainTransaction(purpose=TxPurpose.MINT_BATCH, idempotency_key="mint-batch-test", chain=campaign.chain,
                              signer="platform", from_address=WALLET, to_address=WALLET, tx_hash=latest,
                              state=TxState.SENT)
        session.add(tx)
        session.flush()
        for n, tx_hash in enumerate((first, latest)):
            session.add(TxAttempt(tx_id=tx.id, tx_hash=tx_hash, nonce=7, max_fee_per_gas=10 + n,
                                  max_priority_fee_per_gas=1, raw_tx="0x00",
                                  status=AttemptStatus.REPLACED if n == 0 else AttemptStatus.SIGNED))
        session.execute(update(MintRequest).where(MintRequest.key == order.mint_key).values(tx_id=tx.id))
    assert service.get_order_public(started.public_id).tx_hash == latest  # what the buyer reads

    for term in (latest, latest[:20].upper(), first[2:30]):
        found = admin.list_orders(boss, brand.id, search=term)
        assert [r.public_id for r in found.items] == [started.public_id], term
        assert found.items[0].tx_hash == latest  # the list shows the hash in flight
    assert admin.order_detail(boss, order.id).order.tx_hash == latest
    assert admin.list_orders(boss, brand.id, search="0x" + "c3" * 32).total == 0


def test_csv_export_streams_page_by_page_each_order_once(client, monkeypatch) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, per_wallet_cap=0)
    boss = make_user(Role.BRAND_ADMIN, brand)
    placed = [service.start_checkout(campaign.slug, 1, f"c{n}@example.com", WALLET, "1.1.1.1").public_id
              for n in range(5)]
    monkeypatch.setattr(admin, "EXPORT_PAGE", 2)
    chunks = admin.stream_orders_csv(boss, brand.id)
    assert next(chunks).startswith("order_id,public_id,")  # the header, before any order is read
    first = next(chunks)
    # Meanwhile an order is placed and one of the exported ones changes: neither shifts the pages.
    service.start_checkout(campaign.slug, 1, "late@example.com", WALLET, "1.1.1.1")
    with session_scope() as session:
        session.execute(update(Order).where(Order.public_id == placed[4]).values(created_at=utcnow()))
    rest = list(chunks)
    assert len(rest) == 2  # pages of 2, 2 and 1
    rows = list(csv.DictReader(io.StringIO("".join([",".join(admin.CSV_COLUMNS) + "\n", first, *rest]))))
    assert [r["public_id"] for r in rows] == placed[::-1]  # newest first, each once, the late order not in it
    oldest_first = list(csv.DictReader(io.StringIO(_csv(boss, brand.id, descending=False))))
    assert [r["email"] for r in oldest_first][:2] == ["c0@example.com", "c1@example.com"]
    assert len(oldest_first) == 6


def test_csv_export_refuses_before_the_first_byte(client) -> None:
    brand = make_brand()
    with pytest.raises(NotFound):
        admin.stream_orders_csv(make_user(Role.BRAND_ADMIN, make_brand()), brand.id)  # no iteration needed
    with pytest.raises(ValidationFailed):
        admin.stream_orders_csv(make_user(Role.BRAND_ADMIN, brand), brand.id, status="lost_in_space")


def test_csv_export_is_a_plain_link_signed_in_by_the_web_session_cookie(client) -> None:
    brand = make_brand()
    campaign = make_campaign(brand)
    boss = make_user(Role.BRAND_ADMIN, brand, email="boss@example.com")
    outsider = make_user(Role.BRAND_ADMIN, make_brand(), email="outsider@example.com")
    service.start_checkout(campaign.slug, 1, "a_b@example.com", WALLET, "1.1.1.1")
    url = f"/api/v1/orders/export.csv?brand_id={brand.id}&search=a_b"
    assert client.get(url).status_code == 401  # neither a token nor a session
    client.cookies.set(WEB_SESSION_COOKIE, "not-a-session")
    assert client.get(url).status_code == 401

    code = begin_web_sign_in(boss.email, PASSWORD, ip="1.1.1.1")
    assert client.post("/api/v1/auth/web/session", json={"code": code}).status_code == 204
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="orders-brand-{brand.id}-')
    assert [r["email"] for r in csv.DictReader(io.StringIO(response.text))] == ["a_b@example.com"]

    client.cookies.clear()
    code = begin_web_sign_in(outsider.email, PASSWORD, ip="1.1.1.1")
    client.post("/api/v1/auth/web/session", json={"code": code})
    assert client.get(url).status_code == 404  # the cookie's user, who may not see that brand
    client.cookies.clear()
    token = client.post("/api/v1/auth/login", json={"email": boss.email, "password": PASSWORD}).json()
    response = client.get(url, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200 and "a_b@example.com" in response.text  # API clients as before

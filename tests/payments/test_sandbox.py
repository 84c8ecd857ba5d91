"""The sandbox provider end to end: checkout -> sandbox pay page -> signed event over HTTP to our webhook ->
order paid -> exactly one mint request; declines, cancels and the page itself."""

from __future__ import annotations

from sqlalchemy import select

from backend.chain.models import MintRequest
from backend.db import session_scope
from backend.orders import service
from backend.orders.minting import mint_key
from backend.payments import sandbox
from backend.payments.models import PaymentEvent
from backend.workflow.machines import OrderState
from tests.factories import make_brand, make_campaign
from tests.payments.support import BUYER_LIMITS_OFF, count, order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def test_sandbox_payment_runs_the_real_webhook_path_and_requests_one_mint(client) -> None:
    campaign = make_campaign(make_brand(), price_minor=1999, supply_cap=10)
    started = service.start_checkout(campaign.slug, 2, "Buyer@Example.com", WALLET, "127.0.0.1")
    # The buyer is sent to our own pay link, which leads on to the sandbox's payment page.
    assert started.payment_url == f"http://localhost:3000/api/v1/checkout/orders/{started.public_id}/pay"
    opened = client.get(started.payment_url.removeprefix("http://localhost:3000"), follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("http://localhost:3000/api/sandbox/pay/cs_sandbox_")
    order = order_by_public(started.public_id)
    assert order.state is OrderState.AWAITING_PAYMENT and order.amount_minor == 3998

    outcome = sandbox.pay(order.payment_session_id)  # posts the signed event through the TestClient
    assert outcome.outcome == "paid" and outcome.webhook_status == 200
    settle()

    order = order_by_public(started.public_id)
    assert order.state is OrderState.MINTING
    assert order.mint_key == mint_key(order.id)
    with session_scope() as session:
        mints = session.execute(select(MintRequest)).scalars().all()
    assert [(m.key, m.quantity, m.to_address) for m in mints] == [(mint_key(order.id), 2, WALLET)]
    assert count(PaymentEvent) == 1
    view = service.get_order_public(started.public_id)
    assert view.status == "minting" and view.payment_url == ""
    assert [s.status for s in view.steps] == ["done", "done", "current", "upcoming"]


def test_declined_card_shows_the_reason_and_the_buyer_can_pay_again(client) -> None:
    campaign = make_campaign(make_brand())
    started = service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    session_id = order_by_public(started.public_id).payment_session_id
    declined = sandbox.pay(session_id, "4000 0000 0000 9995")
    assert declined.outcome == "declined"
    settle()
    view = service.get_order_public(started.public_id)
    assert view.status == "payment_failed" and "insufficient funds" in view.failure_reason
    assert view.payment_url  # still payable
    sandbox.pay(session_id)
    settle()
    assert service.get_order_public(started.public_id).status == "minting"


def test_cancel_expires_the_order_and_releases_supply(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # one buyer takes the whole campaign
    campaign = make_campaign(make_brand(), supply_cap=3)
    started = service.start_checkout(campaign.slug, 3, "c@example.com", WALLET, "127.0.0.1")
    assert service.quote(campaign.slug, 1).supply_left == 0
    sandbox.cancel(order_by_public(started.public_id).payment_session_id)
    settle()
    assert service.get_order_public(started.public_id).status == "expired"
    assert service.quote(campaign.slug, 1).supply_left == 3


def test_pay_page_is_labelled_sandbox_and_its_form_pays(client) -> None:
    campaign = make_campaign(make_brand(), price_minor=2500)
    started = service.start_checkout(campaign.slug, 1, "d@example.com", WALLET, "127.0.0.1")
    opened = client.get(started.payment_url.removeprefix("http://localhost:3000"), follow_redirects=False)
    path = opened.headers["location"].removeprefix("http://localhost:3000")
    page = client.get(path)
    assert page.status_code == 200 and "SANDBOX" in page.text and "NO REAL MONEY" in page.text
    assert "4242 4242 4242 4242" in page.text and "$25.00" in page.text
    token = path.split("?token=")[1]
    assert f'name="token" value="{token}"' in page.text  # the form posts the pay token back
    path = path.split("?")[0]
    paid = client.post(path, content=f"action=pay&card=4242+4242+4242+4242&token={token}".encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert paid.status_code == 303 and paid.headers["location"].endswith(f"/orders/{started.public_id}?paid=1")
    settle()
    assert service.get_order_public(started.public_id).status == "minting"
    again = client.post(path, content=f"action=pay&token={token}".encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status_code == 409

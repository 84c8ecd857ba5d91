"""The one gate (backend.kyc.gates.require_kyc) as purchases, rewards and withdrawals use it: closed until an
approval, open while it is valid, closed again once it expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import session_scope, utcnow
from backend.kyc.errors import KycRequired
from backend.kyc.gates import KycPurpose, kyc_gate, kyc_status_for, require_kyc
from backend.kyc.models import KycCase
from backend.orders import service as orders
from backend.orders.models import Order
from backend.workflow.machines import OrderState
from tests.factories import PASSWORD, make_brand, make_campaign, make_user
from tests.kyc.support import approved_consumer, case_of, submit

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _orders() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(Order)).scalar_one()


def _expire(consumer) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        session.get(KycCase, case_of(consumer).id).valid_until = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]


def test_a_reward_marked_requires_kyc_waits_for_an_approval_and_closes_again_when_it_expires() -> None:
    consumer = make_user()
    with pytest.raises(KycRequired) as closed:
        require_kyc(consumer.user_id, KycPurpose.REWARD, next_path="/redeem")
    assert closed.value.verify_path == "/kyc/verify?next=%2Fredeem" and closed.value.status_now == "none"
    submit(consumer)
    with pytest.raises(KycRequired, match="waiting for review"):
        require_kyc(consumer.user_id, KycPurpose.REWARD)
    consumer = approved_consumer(document_number="ZZ998877")
    assert require_kyc(consumer.user_id, KycPurpose.REWARD).verified
    _expire(consumer)
    with pytest.raises(KycRequired, match="expired"):
        require_kyc(consumer.user_id, KycPurpose.REWARD)
    assert kyc_status_for(email=consumer.email).status == "expired"


def test_nobody_signed_in_is_never_verified() -> None:
    with pytest.raises(KycRequired):
        require_kyc(None, KycPurpose.REWARD)


def test_a_campaign_that_asks_every_buyer_takes_no_order_before_an_approval() -> None:
    campaign = make_campaign(make_brand(), kyc_requirement="every_buyer")
    consumer = make_user()
    with pytest.raises(KycRequired) as closed:  # a guest with the email of an account
        orders.start_checkout(campaign.slug, 1, consumer.email, WALLET, "10.0.0.1")
    assert closed.value.verify_path == f"/kyc/verify?next=%2Fc%2F{campaign.slug}"
    with pytest.raises(KycRequired):  # signed in, not verified
        orders.start_checkout(campaign.slug, 1, consumer.email, WALLET, "10.0.0.1", actor=consumer)
    assert _orders() == 0  # no order, so no payment session

    verified = approved_consumer()
    with pytest.raises(KycRequired, match="Sign in"):  # someone typing a verified buyer's email
        orders.start_checkout(campaign.slug, 1, verified.email, WALLET, "10.0.0.1")
    started = orders.start_checkout(campaign.slug, 1, verified.email, WALLET, "10.0.0.1", actor=verified)
    assert started.payment_url and _orders() == 1
    _expire(verified)
    with pytest.raises(KycRequired, match="expired"):
        orders.start_checkout(campaign.slug, 1, verified.email, WALLET, "10.0.0.1", actor=verified)


def test_a_campaign_that_asks_above_an_amount_counts_what_the_buyer_already_ordered() -> None:
    campaign = make_campaign(make_brand(), price_minor=4000, kyc_requirement="above_amount", kyc_threshold_minor=10000)
    guest = "guest@example.com"
    orders.start_checkout(campaign.slug, 2, guest, WALLET, "10.0.0.1")  # 80.00: under 100.00
    with pytest.raises(KycRequired):  # 80 + 40 = 120.00 for this buyer: above
        orders.start_checkout(campaign.slug, 1, guest, WALLET, "10.0.0.1")
    assert _orders() == 1


def test_a_campaign_without_kyc_takes_guests_as_before() -> None:
    campaign = make_campaign(make_brand())
    assert orders.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "10.0.0.1").payment_url


def test_withdrawals_above_the_threshold_need_kyc() -> None:
    assert not kyc_gate(None, KycPurpose.WITHDRAWAL, amount_minor=100_000).required  # at the threshold: open
    assert kyc_gate(None, KycPurpose.WITHDRAWAL, amount_minor=100_001).required
    consumer = make_user()
    with pytest.raises(KycRequired, match="Withdrawing"):
        require_kyc(consumer.user_id, KycPurpose.WITHDRAWAL, amount_minor=250_000)


def test_an_unverified_owner_is_told_to_verify_before_withdrawing_an_expensive_token(configure) -> None:  # type: ignore[no-untyped-def]
    from backend.orders import accounts

    configure(KYC_WITHDRAWAL_THRESHOLD_MINOR="1000")
    campaign = make_campaign(make_brand(), price_minor=2500)
    consumer = make_user()
    started = orders.start_checkout(campaign.slug, 1, consumer.email, None, "10.0.0.1")
    with session_scope() as session:  # minted to the custodial wallet (the chain is not part of this test)
        order = session.execute(select(Order).where(Order.public_id == started.public_id)).scalars().one()
        order.token_ids, order.state = [7], OrderState.MINTED
    with pytest.raises(KycRequired, match="Withdrawing"):
        accounts.withdraw_token(consumer, campaign.id, 7, WALLET, password=PASSWORD, ip="10.0.0.1")  # type: ignore[arg-type]

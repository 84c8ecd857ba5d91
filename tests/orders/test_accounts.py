"""The consumer's account: claiming the account checkout created from the order link, the tokens held for them,
and withdrawing one (to a checksummed address, only their own, really moved on an in-process chain)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import update
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import User
from backend.auth.service import begin_web_sign_in, create_user, load_actor
from backend.chain.keys import custodial_address
from backend.chain.models import TxState
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from backend.orders import accounts
from backend.orders.models import Order
from backend.orders.service import list_orders_for_user, start_checkout
from backend.workflow.machines import OrderState
from tests.chain.conftest import ChainUnderTest, People
from tests.chain.helpers import add_mints, all_settled, deploy_campaign, requests_by_key, transactions
from tests.factories import make_brand, make_campaign, make_user

GOOD_PASSWORD = "violet-harbour-42"
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _checkout_user(email: str) -> int:
    """A consumer as checkout creates them: no password."""
    with session_scope() as session:
        return int(create_user(session, email, None).id)  # type: ignore[arg-type]


def _order(campaign, user_id: int, *, state: OrderState = OrderState.MINTED, token_ids=(), custodial=True) -> str:  # type: ignore[no-untyped-def]
    now = utcnow()
    with session_scope() as session:
        email = session.get(User, user_id).email  # type: ignore[union-attr]
        order = Order(public_id=secrets.token_hex(16), brand_id=campaign.brand_id, campaign_id=campaign.id,
                      user_id=user_id, email=email, wallet_address=custodial_address(user_id), custodial=custodial,
                      quantity=max(1, len(token_ids)), unit_price_minor=2500, amount_minor=2500, currency="USD",
                      state=state, token_ids=list(token_ids), expires_at=now, created_at=now, updated_at=now)
        session.add(order)
        return order.public_id


def _actor(user_id: int):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return load_actor(session, session.get(User, user_id))  # type: ignore[arg-type]


def test_buyer_sets_a_password_from_the_order_link_and_can_sign_in() -> None:
    campaign = make_campaign(make_brand())
    user_id = _checkout_user("kim@example.com")
    public_id = _order(campaign, user_id)
    assert accounts.can_claim_account(public_id)
    with pytest.raises(NotAuthenticated):
        begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")

    assert accounts.claim_account(public_id, GOOD_PASSWORD) == "kim@example.com"

    assert begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")
    assert not accounts.can_claim_account(public_id)
    assert [o.public_id for o in list_orders_for_user(_actor(user_id)).items] == [public_id]


def test_a_second_claim_is_refused_and_keeps_the_first_password() -> None:
    campaign = make_campaign(make_brand())
    user_id = _checkout_user("kim@example.com")
    public_id = _order(campaign, user_id)
    accounts.claim_account(public_id, GOOD_PASSWORD)
    with pytest.raises(Conflict, match="already has a password: sign in instead"):
        accounts.claim_account(public_id, "another-strong-pass-9")
    assert begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")


def test_an_account_with_a_password_cannot_be_claimed() -> None:
    campaign = make_campaign(make_brand())
    actor = make_user(email="has@example.com")
    public_id = _order(campaign, actor.user_id)
    assert not accounts.can_claim_account(public_id)
    with pytest.raises(Conflict, match="sign in instead"):
        accounts.claim_account(public_id, GOOD_PASSWORD)


def test_a_weak_password_is_refused_with_a_field_error() -> None:
    campaign = make_campaign(make_brand())
    public_id = _order(campaign, _checkout_user("kim@example.com"))
    with pytest.raises(ValidationFailed) as caught:
        accounts.claim_account(public_id, "short1")
    assert "at least 12 characters" in caught.value.fields["password"]
    assert accounts.can_claim_account(public_id)  # nothing was set


def test_unpaid_and_unknown_orders_cannot_claim() -> None:
    campaign = make_campaign(make_brand())
    user_id = _checkout_user("kim@example.com")
    unpaid = _order(campaign, user_id, state=OrderState.AWAITING_PAYMENT)
    for public_id in (unpaid, "0" * 32, "not-an-id"):
        assert not accounts.can_claim_account(public_id)
        with pytest.raises(NotFound):
            accounts.claim_account(public_id, GOOD_PASSWORD)


def test_a_buyer_who_pasted_a_wallet_claims_the_account_and_finds_every_order_of_their_email() -> None:
    """Checkout ties every order to its email's account, so "My orders" shows wallet orders too."""
    campaign = make_campaign(make_brand(), supply_cap=10)
    first = start_checkout(campaign.slug, 1, "Lee@Example.com", WALLET, "1.1.1.1").public_id
    second = start_checkout(campaign.slug, 2, "lee@example.com", None, "1.1.1.1").public_id
    with session_scope() as session:
        orders = session.exec(select(Order).order_by(Order.id)).all()
        user = session.exec(select(User).where(User.email == "lee@example.com")).one()
        assert [o.user_id for o in orders] == [user.id, user.id] and user.password_hash is None
        session.execute(update(Order).values(state=OrderState.MINTING))  # both paid, minting
    assert accounts.can_claim_account(first)
    assert accounts.claim_account(first, GOOD_PASSWORD) == "lee@example.com"
    assert not accounts.can_claim_account(second)  # one account, claimed once
    assert {o.public_id for o in list_orders_for_user(_actor(user.id)).items} == {first, second}  # type: ignore[arg-type]


def _people() -> People:
    brand = make_brand()
    return People(brand, make_user(Role.BRAND_ADMIN, brand), make_user(Role.PLATFORM_ADMIN), make_user())


def _custodial_tokens(chain: ChainUnderTest, people: People, user_id: int, quantity: int = 2):  # type: ignore[no-untyped-def]
    campaign, address = deploy_campaign(chain, people)
    add_mints(campaign.id, [("order:acct", custodial_address(user_id), quantity)])
    chain.run_passes(all_settled)
    token_ids = requests_by_key()["order:acct"].token_ids
    public_id = _order(campaign, user_id, token_ids=token_ids)
    return campaign, address, token_ids, public_id


def test_consumer_sees_held_tokens_and_withdraws_one_to_their_wallet(evm: ChainUnderTest) -> None:
    consumer = make_user(email="holder@example.com")
    campaign, address, token_ids, public_id = _custodial_tokens(evm, _people(), consumer.user_id)

    held = accounts.list_custodial_tokens(consumer)
    assert [(t.token_id, t.withdrawal_status, t.order_public_id) for t in held] == [
        (t, "held", public_id) for t in token_ids]
    assert held[0].custodial_address == custodial_address(consumer.user_id)

    target = evm.w3.eth.account.create().address
    # A checksum typo is refused before anything is queued.
    i = next(i for i, ch in enumerate(target) if i > 1 and ch.isalpha())
    with pytest.raises(ValidationFailed) as caught:
        accounts.withdraw_token(consumer, campaign.id, token_ids[0], target[:i] + target[i].swapcase() + target[i + 1:])
    assert "checksum" in caught.value.fields["to_address"]
    assert transactions_of_purpose("transfer") == 0

    started = accounts.withdraw_token(consumer, campaign.id, token_ids[0], target.lower())
    assert started.withdrawal_status == "queued" and started.withdrawn_to == target
    evm.run_passes(lambda: all(t.state is TxState.CONFIRMED for t in transactions()))

    after = {t.token_id: t for t in accounts.list_custodial_tokens(consumer)}
    assert after[token_ids[0]].withdrawal_status == "confirmed" and after[token_ids[0]].withdrawn_to == target
    assert after[token_ids[1]].withdrawal_status == "held"
    assert evm.collection(address).functions.ownerOf(token_ids[0]).call() == target


def test_another_consumer_cannot_withdraw_someone_elses_token(evm: ChainUnderTest) -> None:
    owner = make_user(email="owner@example.com")
    intruder = make_user(email="intruder@example.com")
    campaign, _, token_ids, _ = _custodial_tokens(evm, _people(), owner.user_id, quantity=1)
    target = evm.w3.eth.account.create().address
    with pytest.raises(NotFound):
        accounts.withdraw_token(intruder, campaign.id, token_ids[0], target)
    assert accounts.list_custodial_tokens(intruder) == []
    assert transactions_of_purpose("transfer") == 0
    with pytest.raises(NotAuthenticated):
        accounts.withdraw_token(None, campaign.id, token_ids[0], target)


def transactions_of_purpose(purpose: str) -> int:
    return sum(1 for t in transactions() if t.purpose.value == purpose)


def test_list_custodial_tokens_needs_a_signed_in_consumer() -> None:
    with pytest.raises(NotAuthenticated):
        accounts.list_custodial_tokens(None)
    with session_scope() as session:
        assert session.exec(select(User)).first() is None

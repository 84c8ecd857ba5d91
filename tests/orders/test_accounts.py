"""The consumer's account: creating the account checkout made for the order's email through a link emailed there,
the tokens held for them, and withdrawing one (to a checksummed address, only their own, really moved on an
in-process chain)."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from backend.auth import links
from backend.auth.acl import Role
from backend.auth.models import AuthSession, User
from backend.auth.service import begin_web_sign_in, create_user, load_actor
from backend.chain.keys import custodial_address
from backend.chain.models import TxState
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from backend.notifications.models import OutboundEmail
from backend.orders import accounts
from backend.orders.models import Order
from backend.orders.service import list_orders_for_user, start_checkout
from backend.workflow.machines import OrderState
from tests.chain.helpers import (
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    deploy_campaign,
    requests_by_key,
    transactions,
)
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


def _link_sent_to(email: str) -> str:
    """The token of the newest password link emailed to `email` (read where the email_sender takes it)."""
    with session_scope() as session:
        body = session.exec(select(OutboundEmail.body_text).where(
            OutboundEmail.to_address == email, OutboundEmail.kind == "password_link")
            .order_by(OutboundEmail.id.desc())).first()  # type: ignore[union-attr]
    assert body, f"no link was emailed to {email}"
    match = re.search(r"/account/set-password\?token=(\S+)", body)
    assert match, body
    return match.group(1)


def _links_sent() -> int:
    with session_scope() as session:
        return len(session.exec(select(OutboundEmail.id).where(OutboundEmail.kind == "password_link")).all())


def test_buyer_gets_a_link_by_email_sets_a_password_and_can_sign_in() -> None:
    campaign = make_campaign(make_brand())
    user_id = _checkout_user("kim@example.com")
    public_id = _order(campaign, user_id)
    assert accounts.can_claim_account(public_id)
    assert accounts.send_account_link(public_id) == "k•••@example.com"
    with pytest.raises(NotAuthenticated):  # the order link alone sets nothing
        begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")

    token = _link_sent_to("kim@example.com")
    assert links.link_email(token) == "kim@example.com"
    assert links.set_password_with_link(token, GOOD_PASSWORD) == "kim@example.com"

    assert begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")
    assert not accounts.can_claim_account(public_id)
    assert [o.public_id for o in list_orders_for_user(_actor(user_id)).items] == [public_id]


def test_a_link_works_once() -> None:
    campaign = make_campaign(make_brand())
    public_id = _order(campaign, _checkout_user("kim@example.com"))
    accounts.send_account_link(public_id)
    token = _link_sent_to("kim@example.com")
    links.set_password_with_link(token, GOOD_PASSWORD)
    with pytest.raises(NotFound, match="expired or was used already"):
        links.set_password_with_link(token, "another-strong-pass-9")
    assert begin_web_sign_in("kim@example.com", GOOD_PASSWORD, ip="1.1.1.1")


def test_an_expired_or_forged_link_is_refused(configure) -> None:  # type: ignore[no-untyped-def]
    campaign = make_campaign(make_brand())
    public_id = _order(campaign, _checkout_user("kim@example.com"))
    configure(ACCOUNT_LINK_TTL_SECONDS=1)
    accounts.send_account_link(public_id)
    token = _link_sent_to("kim@example.com")
    head, body, signature = token.split(".")
    with pytest.raises(NotFound):
        links.set_password_with_link(f"{head}.{body}.{signature[::-1]}", GOOD_PASSWORD)
    time.sleep(2.1)
    with pytest.raises(NotFound):
        links.set_password_with_link(token, GOOD_PASSWORD)


def test_asking_twice_in_a_minute_sends_one_email() -> None:
    campaign = make_campaign(make_brand())
    public_id = _order(campaign, _checkout_user("kim@example.com"))
    accounts.send_account_link(public_id)
    accounts.send_account_link(public_id)
    assert _links_sent() == 1


def test_an_account_with_a_password_gets_no_creation_link() -> None:
    campaign = make_campaign(make_brand())
    actor = make_user(email="has@example.com")
    public_id = _order(campaign, actor.user_id)
    assert not accounts.can_claim_account(public_id)
    with pytest.raises(Conflict, match="sign in instead"):
        accounts.send_account_link(public_id)
    assert _links_sent() == 0


def test_a_weak_password_is_refused_with_a_field_error_and_the_link_still_works() -> None:
    campaign = make_campaign(make_brand())
    public_id = _order(campaign, _checkout_user("kim@example.com"))
    accounts.send_account_link(public_id)
    token = _link_sent_to("kim@example.com")
    with pytest.raises(ValidationFailed) as caught:
        links.set_password_with_link(token, "short1")
    assert "at least 12 characters" in caught.value.fields["password"]
    assert links.set_password_with_link(token, GOOD_PASSWORD) == "kim@example.com"


def test_unpaid_and_unknown_orders_get_no_link() -> None:
    campaign = make_campaign(make_brand())
    user_id = _checkout_user("kim@example.com")
    unpaid = _order(campaign, user_id, state=OrderState.AWAITING_PAYMENT)
    for public_id in (unpaid, "0" * 32, "not-an-id"):
        assert not accounts.can_claim_account(public_id)
        with pytest.raises(NotFound):
            accounts.send_account_link(public_id)
    assert _links_sent() == 0


def test_someone_ordering_with_anothers_email_cannot_take_their_account() -> None:
    """The hole the emailed link closes: a paid order with a victim's address only sends the victim a link."""
    campaign = make_campaign(make_brand(), supply_cap=10)
    victim = _checkout_user("victim@example.com")
    _order(campaign, victim, token_ids=[1])  # the victim's custodial token
    attackers_order = _order(campaign, victim)  # placed and paid by someone else, with the victim's address
    assert accounts.send_account_link(attackers_order) == "v•••@example.com"
    with session_scope() as session:
        recipients = set(session.exec(select(OutboundEmail.to_address)).all())
    assert recipients == {"victim@example.com"}  # the link went to the victim's mailbox, nowhere else


def test_forgot_password_sends_a_link_to_existing_accounts_only_and_says_the_same_either_way() -> None:
    make_user(email="has@example.com")
    assert links.request_password_link("Has@Example.com", ip="1.1.1.1") is None
    assert links.request_password_link("nobody@example.com", ip="1.1.1.1") is None
    with session_scope() as session:
        assert session.exec(select(OutboundEmail.to_address)).all() == ["has@example.com"]
    token = _link_sent_to("has@example.com")
    links.set_password_with_link(token, GOOD_PASSWORD)
    assert begin_web_sign_in("has@example.com", GOOD_PASSWORD, ip="1.1.1.1")


def test_a_password_set_by_link_signs_out_every_earlier_session() -> None:
    actor = make_user(email="has@example.com")
    with session_scope() as session:
        session.add(AuthSession(id="sess-before", user_id=actor.user_id, created_at=utcnow(),
                                expires_at=utcnow() + timedelta(days=1), kind="web"))
    links.request_password_link("has@example.com", ip="1.1.1.1")
    links.set_password_with_link(_link_sent_to("has@example.com"), GOOD_PASSWORD)
    with session_scope() as session:
        assert session.get(AuthSession, "sess-before").revoke_reason == "password_set_by_link"  # type: ignore[union-attr]


def test_a_buyer_who_pasted_a_wallet_claims_the_account_and_finds_every_order_of_their_email() -> None:
    """Checkout ties every order to its email's account, so "My orders" shows wallet orders too."""
    campaign = make_campaign(make_brand(), supply_cap=20)
    first = start_checkout(campaign.slug, 1, "Lee@Example.com", WALLET, "1.1.1.1").public_id
    second = start_checkout(campaign.slug, 2, "lee@example.com", None, "1.1.1.1").public_id
    with session_scope() as session:
        orders = session.exec(select(Order).order_by(Order.id)).all()
        user = session.exec(select(User).where(User.email == "lee@example.com")).one()
        assert [o.user_id for o in orders] == [user.id, user.id] and user.password_hash is None
        session.execute(update(Order).values(state=OrderState.MINTING))  # both paid, minting
    assert accounts.can_claim_account(first)
    accounts.send_account_link(first)
    assert links.set_password_with_link(_link_sent_to("lee@example.com"), GOOD_PASSWORD) == "lee@example.com"
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

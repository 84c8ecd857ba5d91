"""The consumer's account: creating the account checkout made for the order's email through a link emailed there,
the tokens held for them, and withdrawing one (to a checksummed address, only their own, with their password asked
again, only when the order's payment was kept, KYC above a threshold of the whole order, really moved on an
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
from backend.auth.models import AuthSession, RefreshToken, User
from backend.auth.service import (
    NO_PASSWORD_YET,
    WRONG_PASSWORD,
    begin_web_sign_in,
    complete_web_sign_in,
    create_user,
    load_actor,
    web_session,
)
from backend.chain.keys import custodial_address
from backend.chain.models import TxState
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotAuthenticated, NotFound, RateLimited, ValidationFailed
from backend.kyc.errors import KycRequired
from backend.notifications.models import OutboundEmail
from backend.orders import accounts
from backend.orders.models import Order
from backend.orders.service import list_orders_for_user, start_checkout
from backend.payments.models import PaymentRefund, RefundStatus
from backend.settings import get_settings
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
from tests.factories import PASSWORD, make_brand, make_campaign, make_user

GOOD_PASSWORD = "violet-harbour-42"
WITHDRAW_IP = "10.0.0.1"
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _checkout_user(email: str) -> int:
    """A consumer as checkout creates them: no password."""
    with session_scope() as session:
        return int(create_user(session, email, None).id)  # type: ignore[arg-type]


def _order(campaign, user_id: int, *, state: OrderState = OrderState.MINTED, token_ids=(), custodial=True,  # type: ignore[no-untyped-def]
           unit_price_minor: int = 2500) -> str:
    now = utcnow()
    quantity = max(1, len(token_ids))
    with session_scope() as session:
        email = session.get(User, user_id).email  # type: ignore[union-attr]
        order = Order(public_id=secrets.token_hex(16), brand_id=campaign.brand_id, campaign_id=campaign.id,
                      user_id=user_id, email=email, wallet_address=custodial_address(user_id), custodial=custodial,
                      quantity=quantity, unit_price_minor=unit_price_minor, amount_minor=unit_price_minor * quantity,
                      currency="USD", state=state, token_ids=list(token_ids), expires_at=now, created_at=now,
                      updated_at=now)
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


def _custodial_tokens(chain: ChainUnderTest, people: People, user_id: int, quantity: int = 2, *,  # type: ignore[no-untyped-def]
                      state: OrderState = OrderState.MINTED, unit_price_minor: int = 2500):
    campaign, address = deploy_campaign(chain, people)
    add_mints(campaign.id, [("order:acct", custodial_address(user_id), quantity)])
    chain.run_passes(all_settled)
    token_ids = requests_by_key()["order:acct"].token_ids
    public_id = _order(campaign, user_id, token_ids=token_ids, state=state, unit_price_minor=unit_price_minor)
    return campaign, address, token_ids, public_id


def _withdraw(actor, campaign_id: int, token_id: int, to_address: str, *, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """A withdrawal as the account page asks for it: the owner's password typed again, from the page's IP."""
    return accounts.withdraw_token(actor, campaign_id, token_id, to_address, password=password, ip=WITHDRAW_IP)


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
        _withdraw(consumer, campaign.id, token_ids[0], target[:i] + target[i].swapcase() + target[i + 1:])
    assert "checksum" in caught.value.fields["to_address"]
    assert transactions_of_purpose("transfer") == 0

    started = _withdraw(consumer, campaign.id, token_ids[0], target.lower())
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
        _withdraw(intruder, campaign.id, token_ids[0], target)
    assert accounts.list_custodial_tokens(intruder) == []
    assert transactions_of_purpose("transfer") == 0
    with pytest.raises(NotAuthenticated):
        _withdraw(None, campaign.id, token_ids[0], target)


def transactions_of_purpose(purpose: str) -> int:
    return sum(1 for t in transactions() if t.purpose.value == purpose)


def test_list_custodial_tokens_needs_a_signed_in_consumer() -> None:
    with pytest.raises(NotAuthenticated):
        accounts.list_custodial_tokens(None)
    with session_scope() as session:
        assert session.exec(select(User)).first() is None


# -- what a withdrawal asks before a token leaves custody ----------------------------------------------------------

def test_a_withdrawal_asks_for_the_owners_password_even_in_a_live_session(evm: ChainUnderTest) -> None:
    """A web session signed in 7 hours ago is still live (a computer left signed in, or a stolen cookie): it alone
    does not move a token. A missing or wrong password is a field error and queues nothing; the right one does."""
    consumer = make_user(email="holder@example.com")
    campaign, _, token_ids, _ = _custodial_tokens(evm, _people(), consumer.user_id, quantity=1)
    cookie, _ = complete_web_sign_in(begin_web_sign_in("holder@example.com", PASSWORD, ip="10.0.0.9"))
    long_ago = utcnow() - timedelta(hours=7)
    with session_scope() as session:
        session.execute(update(AuthSession).values(created_at=long_ago, last_seen_at=utcnow()))
        session.execute(update(RefreshToken).values(created_at=long_ago))
    found = web_session(cookie)
    assert found is not None  # what the /account page's handler acts as
    target = evm.w3.eth.account.create().address

    for typed in ("", "not-my-password-1"):
        with pytest.raises(ValidationFailed) as caught:
            _withdraw(found.actor, campaign.id, token_ids[0], target, password=typed)
        assert caught.value.fields["password"]
    assert caught.value.fields["password"] == WRONG_PASSWORD
    assert transactions_of_purpose("transfer") == 0
    assert web_session(cookie) is not None  # a wrong password is not a sign-out

    assert _withdraw(found.actor, campaign.id, token_ids[0], target).withdrawal_status == "queued"


def test_wrong_withdrawal_passwords_count_toward_the_sign_in_back_off(evm: ChainUnderTest) -> None:
    """Guessing the password through the withdrawal form is throttled like guessing it at sign-in, and the same
    count: after LOGIN_BACKOFF_AFTER_FAILURES wrong ones, even the right password (here or at sign-in) waits."""
    consumer = make_user(email="holder@example.com")
    campaign, _, token_ids, _ = _custodial_tokens(evm, _people(), consumer.user_id, quantity=1)
    target = evm.w3.eth.account.create().address
    for n in range(get_settings().login_backoff_after_failures):
        with pytest.raises(ValidationFailed):
            _withdraw(consumer, campaign.id, token_ids[0], target, password=f"guess-number-{n}")
    with pytest.raises(RateLimited):
        _withdraw(consumer, campaign.id, token_ids[0], target)
    with pytest.raises(RateLimited):
        begin_web_sign_in("holder@example.com", PASSWORD, ip="10.0.0.9")
    assert transactions_of_purpose("transfer") == 0


def test_an_account_without_a_password_is_told_to_choose_one_before_withdrawing() -> None:
    """An account checkout made has no password to confirm: it is told to get one through the emailed link."""
    consumer = _actor(_checkout_user("keeper@example.com"))
    with pytest.raises(Conflict) as caught:
        _withdraw(consumer, 1, 1, WALLET, password="anything-at-all-1")
    assert caught.value.message == NO_PASSWORD_YET and "link" in caught.value.message


def _refund_queued(public_id: str) -> None:
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.public_id == public_id)).one()
        session.add(PaymentRefund(order_id=order.id, payment_intent_id="pi_test", idempotency_key=f"r-{public_id}",
                                  amount_minor=order.amount_minor, currency="USD", status=RefundStatus.PENDING))


def _partly_refunded(public_id: str) -> None:
    with session_scope() as session:
        session.execute(update(Order).where(Order.public_id == public_id).values(refunded_minor=500))


@pytest.mark.parametrize(("state", "afterwards", "reason"), [
    (OrderState.DISPUTED, None, accounts.DISPUTED_HOLD),
    (OrderState.REFUND_PENDING, None, accounts.REFUNDED_HOLD),
    (OrderState.REFUNDED, None, accounts.REFUNDED_HOLD),
    (OrderState.FULFILLED, _refund_queued, accounts.REFUNDED_HOLD),
    (OrderState.FULFILLED, _partly_refunded, accounts.REFUNDED_HOLD),
], ids=["disputed", "refund_pending", "refunded", "refund_queued", "partly_refunded"])
def test_a_token_whose_payment_was_disputed_or_refunded_stays_in_custody(  # type: ignore[no-untyped-def]
        evm: ChainUnderTest, state: OrderState, afterwards, reason: str) -> None:
    """Else a chargeback (or a refund) and a withdrawal leave the buyer with both the money and the token. The
    account page shows why instead of the Withdraw button."""
    consumer = make_user(email="holder@example.com")
    campaign, _, token_ids, public_id = _custodial_tokens(evm, _people(), consumer.user_id, quantity=1, state=state)
    if afterwards is not None:
        afterwards(public_id)
    [held] = accounts.list_custodial_tokens(consumer)
    assert held.withdrawal_status == "held" and held.withdrawal_blocked == reason
    with pytest.raises(Conflict) as caught:
        _withdraw(consumer, campaign.id, token_ids[0], evm.w3.eth.account.create().address)
    assert caught.value.message == reason
    assert transactions_of_purpose("transfer") == 0


def test_the_kyc_threshold_counts_the_whole_order_not_each_token(evm: ChainUnderTest) -> None:
    """Five tokens bought in one order for just under KYC_WITHDRAWAL_THRESHOLD_MINOR each: the order cost five times
    the threshold, so an unverified owner withdraws none of them."""
    threshold = get_settings().kyc_withdrawal_threshold_minor
    consumer = make_user(email="holder@example.com")
    campaign, _, token_ids, _ = _custodial_tokens(evm, _people(), consumer.user_id, quantity=5,
                                                  unit_price_minor=threshold - 1)
    with pytest.raises(KycRequired):
        _withdraw(consumer, campaign.id, token_ids[0], evm.w3.eth.account.create().address)
    assert transactions_of_purpose("transfer") == 0

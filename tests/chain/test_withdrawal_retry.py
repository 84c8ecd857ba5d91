"""A failed custodial withdrawal can be tried again: a new attempt with its own idempotency keys, the failed one
closed (final, pointing at its successor); asking again while an attempt is in flight returns that attempt."""

from __future__ import annotations

import secrets

from sqlmodel import select

from backend.auth.models import User
from backend.chain.custody import FAILED_STATES
from backend.chain.keys import custodial_address
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.db import session_scope, utcnow
from backend.orders import accounts
from backend.orders.models import Order
from backend.workflow.machines import OrderState
from tests.chain.helpers import (
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    deploy_campaign,
    new_address,
    queue_custodial_withdrawal,
    requests_by_key,
)
from tests.factories import PASSWORD


def _tx(tx_id: int) -> ChainTransaction:
    with session_scope() as session:
        tx = session.get(ChainTransaction, tx_id)
        assert tx is not None
        session.expunge(tx)
        return tx


def _transfers() -> list[ChainTransaction]:
    with session_scope() as session:
        rows = session.exec(select(ChainTransaction).where(ChainTransaction.purpose == TxPurpose.TRANSFER)
                            .order_by(ChainTransaction.id)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_a_failed_withdrawal_can_be_tried_again(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    custodial = custodial_address(people.consumer.user_id)
    add_mints(campaign.id, [("order:1", custodial, 1)])
    chain.run_passes(all_settled)
    [token_id] = requests_by_key()["order:1"].token_ids

    # The collection contract cannot receive an ERC-721 (no onERC721Received): safeTransferFrom reverts.
    first = queue_custodial_withdrawal(people.consumer, campaign.id, token_id, address)
    chain.run_passes(lambda: _tx(first.id).state in FAILED_STATES)

    own_wallet = new_address(chain.w3)
    second = queue_custodial_withdrawal(people.consumer, campaign.id, token_id, own_wallet)
    assert second.id != first.id and second.idempotency_key != first.idempotency_key
    assert second.meta["attempt"] == 2 and second.meta["to"] == own_wallet
    closed = _tx(first.id)
    assert closed.state in FAILED_STATES and closed.meta["retried_as"] == second.id
    # While the new attempt is in flight, asking again is the same withdrawal.
    assert queue_custodial_withdrawal(people.consumer, campaign.id, token_id, new_address(chain.w3)).id == second.id

    chain.run_passes(lambda: _tx(second.id).state is TxState.CONFIRMED)
    assert chain.collection(address).functions.ownerOf(token_id).call() == own_wallet
    assert [t.id for t in _transfers()] == [first.id, second.id]


def test_the_account_page_offers_try_again_on_a_failed_withdrawal(anvil: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(anvil, people)
    consumer = people.consumer
    add_mints(campaign.id, [("order:acct", custodial_address(consumer.user_id), 1)])
    anvil.run_passes(all_settled)
    [token_id] = requests_by_key()["order:acct"].token_ids
    _custodial_order(campaign, consumer.user_id, token_id)

    failed = accounts.withdraw_token(consumer, campaign.id, token_id, address,  # a contract: it reverts
                                     password=PASSWORD, ip="10.0.0.1")
    assert failed.withdrawal_status == "queued"
    anvil.run_passes(lambda: accounts.list_custodial_tokens(consumer)[0].withdrawal_status == "failed")
    own_wallet = new_address(anvil.w3)
    again = accounts.withdraw_token(consumer, campaign.id, token_id, own_wallet, password=PASSWORD, ip="10.0.0.1")
    assert again.withdrawal_status == "queued" and again.withdrawn_to == own_wallet
    anvil.run_passes(lambda: accounts.list_custodial_tokens(consumer)[0].withdrawal_status == "confirmed")
    assert anvil.collection(address).functions.ownerOf(token_id).call() == own_wallet


def _custodial_order(campaign, user_id: int, token_id: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with session_scope() as session:
        email = session.get(User, user_id).email  # type: ignore[union-attr]
        session.add(Order(public_id=secrets.token_hex(16), brand_id=campaign.brand_id, campaign_id=campaign.id,
                          user_id=user_id, email=email, wallet_address=custodial_address(user_id), custodial=True,
                          quantity=1, unit_price_minor=2500, amount_minor=2500, currency="USD",
                          state=OrderState.MINTED, token_ids=[token_id], expires_at=now, created_at=now,
                          updated_at=now))

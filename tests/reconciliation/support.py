"""What the reconciliation tests share: a shop on a real chain (a deployed campaign and buyers who pay through the
sandbox or Stripe and are minted by the daemons' passes), and ways to break it on purpose: a mint sent straight to
the contract, rows that disagree with the provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from backend.chain.keys import platform_account
from backend.chain.models import MintRequest, MintStatus
from backend.db import session_scope, utcnow
from backend.orders import service
from backend.orders.models import Order
from backend.orders.refunds import issue_refunds
from backend.payments import sandbox
from tests.chain.helpers import ChainUnderTest, People, all_settled, deploy_campaign, new_address
from tests.payments.support import BUYER_LIMITS_OFF, emit_mint_event, order_by_public, settle

_ips = iter(range(1, 250))


@dataclass
class Shop:
    chain: ChainUnderTest
    people: People
    campaign: Any
    contract: str

    def buy(self, quantity: int = 1, *, wallet: str | None = None, pay: bool = True) -> Order:
        """A buyer checks out and pays on the sandbox page; the workflow settles (the mint is requested)."""
        wallet = wallet or new_address(self.chain.w3)
        started = service.start_checkout(self.campaign.slug, quantity, f"{wallet[-8:].lower()}@example.com", wallet,
                                         f"10.1.0.{next(_ips)}")
        order = order_by_public(started.public_id)
        if pay:
            assert sandbox.pay(order.payment_session_id).outcome == "paid"
            settle()
        return order_by_public(started.public_id)

    def mint_all(self) -> None:
        """The mint dispatcher and transaction monitor run until every request is settled, then the workflow."""
        self.chain.run_passes(all_settled)
        settle()

    def refund_before_mint(self, order: Order) -> Order:
        """Its mint fails for good (the request is failed, as the monitor leaves it): the order is refunded in full."""
        with session_scope() as session:
            session.execute(update(MintRequest).where(MintRequest.key == f"order-{order.id}")
                            .values(status=MintStatus.FAILED, error="execution reverted"))
        emit_mint_event("mint.failed", {"key": f"order-{order.id}", "error": "execution reverted"})
        settle()
        issue_refunds()
        settle()
        return order_by_public(order.public_id)

    def direct_mint(self, to: str, quantity: int = 1) -> None:
        """A mint sent straight to the contract with the platform's key, outside Primsell's mint pipeline."""
        w3, account = self.chain.w3, platform_account()
        tx = self.chain.collection(self.contract).functions.mintTo(to, quantity).build_transaction({
            "from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id})
        signed = account.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1


def open_shop(chain: ChainUnderTest, people: People, configure: Any) -> Shop:
    configure(**BUYER_LIMITS_OFF)
    campaign, contract = deploy_campaign(chain, people, supply_cap=100, per_wallet_cap=0)
    return Shop(chain, people, campaign, contract)


def age_payment(order: Order, hours: float) -> None:
    """The order was paid `hours` ago."""
    with session_scope() as session:
        session.execute(update(Order).where(Order.id == order.id)
                        .values(paid_at=utcnow() - timedelta(hours=hours)))

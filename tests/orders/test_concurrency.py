"""Many buyers at once: the last tokens are never oversold, the per-wallet cap holds under a race, and every
paid order is minted exactly once (on an in-process chain)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from backend.auth.acl import Role
from backend.campaigns.models import Campaign
from backend.chain.models import MintRequest
from backend.db import session_scope
from backend.orders import service
from backend.orders.errors import SoldOut, WalletCapReached
from backend.orders.models import Order
from backend.payments import sandbox
from backend.workflow.machines import OrderState
from tests.chain.helpers import ChainUnderTest, People, all_settled, deploy_campaign
from tests.factories import make_brand, make_campaign, make_user
from tests.payments.support import BUYER_LIMITS_OFF, count, settle

BUYERS = 50


def _wallet(n: int) -> str:
    return "0x" + f"{n + 1:040x}"


def _supply_invariant(campaign_id: int) -> tuple[int, int, int]:
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        held = session.execute(select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.campaign_id == campaign_id, Order.holds_supply.is_(True))).scalar_one()
        return campaign.sold_count, campaign.supply_cap, int(held)


def test_fifty_buyers_for_the_last_ten_tokens(client, evm: ChainUnderTest) -> None:
    brand = make_brand()
    people = People(brand, make_user(Role.BRAND_ADMIN, brand), make_user(Role.PLATFORM_ADMIN), make_user())
    campaign, contract = deploy_campaign(evm, people, supply_cap=100, per_wallet_cap=0)
    with session_scope() as session:  # 90 already sold: the last 10 are left
        session.get(Campaign, campaign.id).sold_count = 90

    def buy(n: int) -> str:
        try:
            started = service.start_checkout(campaign.slug, 1, f"buyer{n}@example.com", _wallet(n), f"10.0.0.{n}")
        except SoldOut:
            return "sold_out"
        with session_scope() as session:
            session_id = session.execute(select(Order.payment_session_id).where(
                Order.public_id == started.public_id)).scalar_one()
        return sandbox.pay(session_id).outcome

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        outcomes = list(pool.map(buy, range(BUYERS)))
    settle()
    assert outcomes.count("paid") == 10 and outcomes.count("sold_out") == 40
    assert count(MintRequest) == 10
    sold, cap, held = _supply_invariant(campaign.id)
    assert sold == cap == 100 and held == 10  # 90 sold before this test had no orders

    evm.run_passes(all_settled)  # the mint dispatcher and transaction monitor, as the daemons run them
    settle()
    with session_scope() as session:
        orders = session.execute(select(Order).where(Order.campaign_id == campaign.id)).scalars().all()
        fulfilled = [(o.wallet_address, o.token_ids) for o in orders if o.state is OrderState.FULFILLED]
    assert len(orders) == len(fulfilled) == 10  # every paid order minted; nobody else got an order
    token_ids = [int(t) for _, ids in fulfilled for t in ids]
    assert len(set(token_ids)) == 10
    collection = evm.collection(contract)
    assert all(collection.functions.ownerOf(int(ids[0])).call() == wallet for wallet, ids in fulfilled)
    assert collection.functions.totalSupply().call() == 10


def test_per_wallet_cap_holds_when_one_wallet_races_itself(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # twenty attempts from one address
    campaign = make_campaign(make_brand(), supply_cap=100, per_wallet_cap=3)
    wallet = _wallet(7)

    def buy(n: int) -> str:
        try:
            service.start_checkout(campaign.slug, 1, f"w{n}@example.com", wallet, "1.1.1.1")
            return "ok"
        except WalletCapReached:
            return "capped"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(buy, range(20)))
    assert outcomes.count("ok") == 3 and outcomes.count("capped") == 17
    sold, _, held = _supply_invariant(campaign.id)
    assert sold == held == 3

"""Demo data for `make run`: one brand, its people, and two campaigns. Safe to run again (it adds what is missing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from backend.auth.acl import Role
from backend.auth.models import Membership, User
from backend.auth.service import create_user
from backend.brands.models import Brand
from backend.campaigns.models import Campaign, CampaignStatus
from backend.db import session_scope, utcnow

DEMO_BRAND_SLUG = "aurora-coffee"


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    password: str
    brand: str | None  # None: a platform-wide role (or a consumer, who has no membership)


# Printed by `make run` and listed in the README. Demo only: never reuse these anywhere real.
DEMO_ACCOUNTS = (
    DemoAccount(Role.BRAND_ADMIN, "ava@aurora.example.com", "aurora-admin-2026", DEMO_BRAND_SLUG),
    DemoAccount(Role.BRAND_STAFF, "sam@aurora.example.com", "aurora-staff-2026", DEMO_BRAND_SLUG),
    DemoAccount(Role.KYC_REVIEWER, "kim@primsell.example.com", "primsell-kyc-2026", None),
    DemoAccount(Role.PLATFORM_ADMIN, "pat@primsell.example.com", "primsell-platform-2026", None),
    DemoAccount(Role.CONSUMER, "cleo@example.com", "consumer-demo-2026", None),
)


def _ensure_user(session: Session, account: DemoAccount) -> User:
    user = session.exec(select(User).where(User.email == account.email)).first()
    return user or create_user(session, account.email, account.password,
                               display_name=account.email.split("@")[0].title())


def seed_demo() -> list[DemoAccount]:
    with session_scope() as session:
        brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).first()
        if brand is None:
            brand = Brand(
                slug=DEMO_BRAND_SLUG,
                name="Aurora Coffee",
                logo_url="/demo/aurora-logo.svg",
                primary_color="#7C3AED",
                accent_color="#F59E0B",
            )
            session.add(brand)
            session.flush()
        for account in DEMO_ACCOUNTS:
            user = _ensure_user(session, account)
            if account.role is Role.CONSUMER:
                continue
            brand_id = brand.id if account.brand else None
            exists = session.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.brand_id == brand_id)
            ).first()
            if exists is None:
                session.add(Membership(user_id=user.id, brand_id=brand_id, role=account.role))  # type: ignore[arg-type]
        now = utcnow()
        campaigns = [
            Campaign(
                brand_id=brand.id,  # type: ignore[arg-type]
                slug="aurora-founders",
                name="Aurora Founders Pass",
                description="The first 500 holders get a free coffee every month for a year and early access "
                "to every seasonal roast.",
                image_url="/demo/founders.svg",
                price_minor=2500,
                currency="USD",
                supply_cap=500,
                per_wallet_cap=5,
                sale_starts_at=now - timedelta(days=1),
                sale_ends_at=now + timedelta(days=60),
                royalty_bps=500,
                royalty_receiver="0x8ba1f109551bD432803012645Ac136ddd64DBA72",
                status=CampaignStatus.PUBLISHED,
            ),
            Campaign(
                brand_id=brand.id,  # type: ignore[arg-type]
                slug="aurora-winter-roast",
                name="Winter Roast Collectible",
                description="A limited winter collectible: each token carries a bag of the winter roast.",
                image_url="/demo/winter.svg",
                price_minor=4000,
                currency="EUR",
                supply_cap=100,
                per_wallet_cap=2,
                sale_starts_at=now + timedelta(days=7),
                sale_ends_at=now + timedelta(days=37),
                royalty_bps=750,
                royalty_receiver="0x8ba1f109551bD432803012645Ac136ddd64DBA72",
                status=CampaignStatus.PUBLISHED,
            ),
        ]
        for campaign in campaigns:
            if session.exec(select(Campaign).where(Campaign.slug == campaign.slug)).first() is None:
                session.add(campaign)
    return list(DEMO_ACCOUNTS)


DEMO_CAMPAIGN_SLUGS = ("aurora-founders", "aurora-winter-roast")


def request_demo_deploys(slugs: tuple[str, ...] = DEMO_CAMPAIGN_SLUGS) -> None:
    """Queue the demo campaigns' contract deploys (`make run` does), so buying works once the daemons have run.

    Kept apart from seed_demo: the seed is data only, and the admin can deploy a seeded campaign by hand.
    """
    from backend.auth.service import load_actor
    from backend.chain.deployments import request_deploy
    from backend.errors import Conflict

    admin_email = next(a.email for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)
    with session_scope() as session:
        admin = session.exec(select(User).where(User.email == admin_email)).one()
        actor = load_actor(session, admin)
        campaign_ids = session.exec(select(Campaign.id).where(Campaign.slug.in_(slugs))).all()  # type: ignore[attr-defined]
    for campaign_id in campaign_ids:
        try:
            request_deploy(actor, campaign_id)  # type: ignore[arg-type]
        except Conflict:
            pass  # already requested, deploying or deployed (a second seed changes nothing)


def credentials_text() -> str:
    lines = ["Demo accounts (demo data only):"]
    for account in DEMO_ACCOUNTS:
        lines.append(f"  {account.role.value:<15} {account.email:<28} {account.password}")
    return "\n".join(lines)


# -- demo secondary sales -------------------------------------------------------------------------------------------

DEMO_SALES_CAMPAIGN = "aurora-founders"
OPENSEA_FEE_RECIPIENT = "0x0000a26b00c1F0DF003000390027140000fAa719"  # in MARKETPLACE_FEE_RECIPIENTS by default
# Demo wallets on the local chain only: their keys are derived from these public names, so anyone can derive them.
DEMO_SELLERS, DEMO_BUYERS = ("dana", "eli"), ("fay", "gus")
DEMO_MARKET = "market"  # deploys ConduitController, Seaport and the demo ERC-20 with its nonces 0, 1 and 2
FINNEY = 10**15


@dataclass(frozen=True)
class DemoSalesResult:
    seaport: str | None
    made: int  # sales made on chain by this call (0 when they were all made before)
    skipped: str = ""  # why nothing was done (not a local chain, ...)


def _demo_key(name: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=f"primsell-demo-wallet:{name}")


def _create_address(sender: str, nonce: int) -> str:
    """The address of the contract `sender` creates with `nonce` (keccak of rlp([sender, nonce]))."""
    import rlp
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def seed_demo_sales(w3: Any = None, *, timeout_s: float = 60.0) -> DemoSalesResult:
    """Real Seaport 1.6 sales of the demo collection between demo wallets on the LOCAL chain, for the indexer to find:
    one pays OpenSea's fee and the royalty, one only the fee, one only the royalty (no known front end), and one is an
    accepted offer paid in the demo ERC-20 (fee and royalty). Deploys, once, the collection (through the deployer and
    the transaction manager, as the daemons would), a local Seaport (recorded for the indexer) and the ERC-20, and
    mints the sellers' tokens through mint requests.

    Idempotent and quick (seconds on anvil): the contracts sit at fixed addresses (the market key's first nonces) and
    are reused when their code is there; a sale whose token has left its seller is not made again. Only where
    development funding is allowed (the "local" chain, not production); elsewhere it does nothing and says why.
    `w3`: the node to use (default: the configured local chain)."""
    from backend.chain.client import get_web3, use_web3
    from backend.chain.config import chain_config

    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == DEMO_SALES_CAMPAIGN)).first()
        if campaign is None:
            return DemoSalesResult(None, 0, "the demo data is not seeded")
        campaign_id, chain = int(campaign.id), campaign.chain  # type: ignore[arg-type]
    if not chain_config(chain).dev_funding:
        return DemoSalesResult(None, 0, f"chain {chain!r} is not a local development chain")
    w3 = w3 or get_web3(chain)
    with use_web3(chain, w3):
        return _DemoMarket(w3, chain, campaign_id, timeout_s).run()


class _DemoMarket:
    def __init__(self, w3: Any, chain: str, campaign_id: int, timeout_s: float) -> None:
        import time

        from contracts import seaport

        self.w3, self.chain, self.campaign_id = w3, chain, campaign_id
        self.deadline = time.monotonic() + timeout_s
        self.sellers = [seaport.wallet(w3, _demo_key(name)) for name in DEMO_SELLERS]
        self.buyers = [seaport.wallet(w3, _demo_key(name)) for name in DEMO_BUYERS]
        self.market = seaport.wallet(w3, _demo_key(DEMO_MARKET))
        self.made = 0

    def _work_until(self, done: Any) -> None:
        """Run the deployer, dispatcher and transaction monitor (what the daemons do) until `done()`."""
        import time

        from backend.chain.deployments import deploy_pass
        from backend.chain.finish_hooks import FINISH_HOOKS
        from backend.chain.mints import dispatch_pass
        from backend.chain.txmanager import monitor_pass

        while not done():
            if time.monotonic() > self.deadline:
                raise RuntimeError("the demo collection's deploy or mints did not confirm in time")
            deploy_pass()
            dispatch_pass()
            monitor_pass(self.chain, hooks=FINISH_HOOKS)

    def _collection(self) -> Any:
        from backend.chain.models import ContractDeployment
        from backend.workflow.machines import ContractState
        from contracts.artifacts import load_artifact

        def deployment() -> ContractDeployment | None:
            with session_scope() as session:
                return session.exec(select(ContractDeployment).where(
                    ContractDeployment.campaign_id == self.campaign_id,
                    ContractDeployment.chain == self.chain)).first()

        request_demo_deploys((DEMO_SALES_CAMPAIGN,))
        self._work_until(lambda: (d := deployment()) is not None
                         and d.state in (ContractState.DEPLOYED, ContractState.FAILED))
        deployed = deployment()
        assert deployed is not None
        if deployed.state is not ContractState.DEPLOYED or not self.w3.eth.get_code(deployed.contract_address):
            return None
        return self.w3.eth.contract(address=deployed.contract_address, abi=load_artifact("PrimsellCollection")["abi"])

    def _tokens(self) -> dict[str, list[int]]:
        """Two tokens for each seller, minted through mint requests (the same keys again mint nothing)."""
        from backend.chain.mints import queue_mint
        from backend.chain.models import MintRequest, MintStatus

        keys = {f"demo-sale:{seller.address}": seller.address for seller in self.sellers}
        with session_scope() as session:
            for key, address in keys.items():
                queue_mint(session, key, self.campaign_id, address, 2)

        def requests() -> list[MintRequest]:
            with session_scope() as session:
                return list(session.exec(select(MintRequest).where(MintRequest.key.in_(keys))))  # type: ignore[attr-defined]

        self._work_until(lambda: all(r.status is MintStatus.MINTED for r in requests()))
        return {r.to_address: list(r.token_ids) for r in requests()}

    def _contracts(self) -> tuple[str, str]:
        """(Seaport, demo ERC-20): deployed by the market key unless already there; Seaport recorded for the indexer."""
        from backend.chain.client import chain_id
        from backend.chain.indexer import record_seaport
        from contracts import seaport

        controller, seaport_address, token = (_create_address(self.market.address, n) for n in range(3))
        deploy_block = 0  # unknown when the contracts were there before (it is only informative)
        if not self.w3.eth.get_code(seaport_address):
            if self.w3.eth.get_transaction_count(self.market.address) != 0:
                raise RuntimeError("the demo market key has sent other transactions on this chain")
            made = seaport.deploy_seaport(self.w3, self.market)
            seaport.deploy(self.w3, self.market, "TestToken")
            assert (made.seaport, made.conduit_controller) == (seaport_address, controller)
            deploy_block = made.block_number
        record_seaport(chain_id(self.chain), seaport_address, controller, deploy_block)
        return seaport_address, token

    def run(self) -> DemoSalesResult:
        from backend.chain.client import fund_from_dev_account
        from contracts import seaport
        from contracts.artifacts import load_artifact

        collection = self._collection()
        if collection is None:
            return DemoSalesResult(None, 0, "the demo collection is not on this chain (was var/anvil.json removed?)")
        for wallet in (*self.sellers, *self.buyers, self.market):
            fund_from_dev_account(self.w3, wallet.address, 10 * 10**18)
        tokens = self._tokens()
        seaport_address, token_address = self._contracts()
        receiver = collection.functions.royaltyInfo(1, 10_000).call()[0]
        dana, eli = self.sellers
        fay, gus = self.buyers

        def payouts(price: int, fee: bool, royalty: bool) -> list[tuple[str, int]]:
            bps = collection.functions.royaltyInfo(1, 10_000).call()[1]
            return ([(OPENSEA_FEE_RECIPIENT, price // 100)] if fee else []) + \
                ([(receiver, price * bps // 10_000)] if royalty else [])

        def still_owns(seller: seaport.Wallet, token_id: int) -> bool:
            if collection.functions.ownerOf(token_id).call() != seller.address:
                return False  # sold before
            if not collection.functions.isApprovedForAll(seller.address, seaport_address).call():
                seller.call(collection.functions.setApprovalForAll(seaport_address, True))
            return True

        listings = [(dana, fay, tokens[dana.address][0], 50 * FINNEY, True, True),
                    (eli, gus, tokens[eli.address][0], 80 * FINNEY, True, False),
                    (dana, gus, tokens[dana.address][1], 120 * FINNEY, False, True)]
        for salt, (seller, buyer, token_id, price, fee, royalty) in enumerate(listings, start=1):
            if still_owns(seller, token_id):
                order = seaport.listing(seller.address, collection.address, token_id, price,
                                        payouts(price, fee, royalty), salt=salt)
                seaport.fulfil(self.w3, seaport_address, seaport.signed(self.w3, seaport_address, order, seller), buyer)
                self.made += 1
        # An accepted offer in the demo ERC-20 ("TEST", the WETH stand-in): fay bids 150 for eli's second token.
        token_id = tokens[eli.address][1]
        if still_owns(eli, token_id):
            erc20 = self.w3.eth.contract(address=token_address, abi=load_artifact("TestToken")["abi"])
            price = 150 * 10**18
            self.market.call(erc20.functions.mint(fay.address, price))
            fay.call(erc20.functions.approve(seaport_address, price))
            eli.call(erc20.functions.approve(seaport_address, price))  # the seller pays the fees out of the price
            bid = seaport.offer(fay.address, collection.address, token_id, price, token_address,
                                payouts(price, True, True), salt=4)
            seaport.fulfil(self.w3, seaport_address, seaport.signed(self.w3, seaport_address, bid, fay), eli)
            self.made += 1
        return DemoSalesResult(seaport_address, self.made)

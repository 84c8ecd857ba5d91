"""A Seaport market on the chain under test: one campaign's collection deployed and minted through the services, a
local Seaport recorded for the indexer, funded wallets, and the sales the tests make (real signed orders)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from sqlmodel import select

from backend.chain.client import fund_from_dev_account
from backend.chain.indexer import IndexResult, index_pass, record_seaport
from backend.db import session_scope
from backend.sales.models import Sale
from contracts import seaport as sp
from contracts.artifacts import load_artifact
from tests.chain.helpers import CHAIN, ChainUnderTest, People, add_mints, all_settled, deploy_campaign, requests_by_key

OPENSEA_FEE = to_checksum_address("0x0000a26b00c1f0df003000390027140000faa719")  # in the default fee recipients
ETH = 10**18
_mint_keys = itertools.count(1)


@dataclass
class Market:
    chain: ChainUnderTest
    people: People
    campaign: Any
    collection: Any  # the web3 contract
    deployment: sp.SeaportDeployment
    deployer: sp.Wallet
    royalty_receiver: str
    wallets: list[sp.Wallet] = field(default_factory=list)

    @property
    def w3(self) -> Any:
        return self.chain.w3

    @property
    def seaport(self) -> str:
        return self.deployment.seaport

    def wallet(self, eth: int = 10) -> sp.Wallet:
        new = sp.wallet(self.w3)
        fund_from_dev_account(self.w3, new.address, eth * ETH)
        self.wallets.append(new)
        return new

    def mint(self, owner: sp.Wallet, quantity: int = 1, *, approve: bool = True) -> list[int]:
        """Tokens minted to `owner` through the mint services; with `approve`, Seaport may move them."""
        key = f"test-mint:{next(_mint_keys)}"
        add_mints(self.campaign.id, [(key, owner.address, quantity)])
        self.chain.run_passes(all_settled)
        if approve:
            owner.call(self.collection.functions.setApprovalForAll(self.seaport, True))
        return list(requests_by_key()[key].token_ids)

    def token(self, holder: sp.Wallet, amount: int) -> Any:
        """A test ERC-20 (the WETH stand-in), `amount` minted to `holder`."""
        address = sp.deploy(self.w3, self.deployer, "TestToken")["contractAddress"]
        token = self.w3.eth.contract(address=address, abi=load_artifact("TestToken")["abi"])
        self.deployer.call(token.functions.mint(holder.address, amount))
        return token

    def listed(self, seller: sp.Wallet, token_id: int, price: int, payouts: list[tuple[str, int]],
               currency: str = sp.ZERO_ADDRESS) -> sp.Order:
        order = sp.listing(seller.address, self.collection.address, token_id, price, payouts, currency=currency)
        return sp.signed(self.w3, self.seaport, order, seller)

    def buy(self, seller: sp.Wallet, buyer: sp.Wallet, token_id: int, price: int,
            payouts: list[tuple[str, int]]) -> Any:
        """A listing signed by `seller`, fulfilled by `buyer` (fulfillOrder)."""
        return sp.fulfil(self.w3, self.seaport, self.listed(seller, token_id, price, payouts), buyer)

    def fee(self, price: int, bps: int = 250) -> tuple[str, int]:
        return (OPENSEA_FEE, price * bps // 10_000)

    def royalty(self, price: int, bps: int = 750) -> tuple[str, int]:
        return (self.royalty_receiver, price * bps // 10_000)

    def index(self) -> IndexResult:
        result = index_pass(CHAIN)
        assert result.done, result
        return result


def open_market(chain: ChainUnderTest, people: People, *, royalty_bps: int = 750) -> Market:
    royalty_receiver = chain.w3.eth.account.create().address
    campaign, address = deploy_campaign(chain, people, royalty_bps=royalty_bps, royalty_receiver=royalty_receiver,
                                        supply_cap=1000)
    collection = chain.collection(address)
    deployer = sp.wallet(chain.w3)
    fund_from_dev_account(chain.w3, deployer.address, 100 * ETH)
    deployment = sp.deploy_seaport(chain.w3, deployer)
    record_seaport(int(chain.w3.eth.chain_id), deployment.seaport, deployment.conduit_controller,
                   deployment.block_number)
    return Market(chain, people, campaign, collection, deployment, deployer, royalty_receiver)


def sales() -> list[Sale]:
    with session_scope() as session:
        return list(session.exec(select(Sale).order_by(Sale.block_number, Sale.log_index, Sale.id)))  # type: ignore[arg-type]


def pause_mining(chain: ChainUnderTest) -> None:
    """Transactions wait in the pool until `resume_mining` (a marketplace can report a sale before it is mined)."""
    if chain.kind == "anvil":
        chain.rpc("evm_setAutomine", [False])
    else:
        chain.w3.provider.ethereum_tester.disable_auto_mine_transactions()  # type: ignore[attr-defined]


def resume_mining(chain: ChainUnderTest) -> None:
    if chain.kind == "anvil":
        chain.rpc("evm_setAutomine", [True])
        chain.mine()
    else:
        chain.w3.provider.ethereum_tester.enable_auto_mine_transactions()  # type: ignore[attr-defined]

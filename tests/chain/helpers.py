"""What the chain tests share: the chain under test (which runs the daemons' service passes until something a user
would see is true), the people of a brand, and small steps: deploy a campaign's collection through the services,
mint to addresses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select
from web3 import EthereumTesterProvider, Web3

from backend.auth.acl import Actor
from backend.brands.models import Brand
from backend.chain.anvil import AnvilNode, start_anvil
from backend.chain.custody import queue_withdrawal
from backend.chain.deployments import deploy_pass, deployment_status, request_deploy
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.mints import dispatch_pass, queue_mint
from backend.chain.models import ChainTransaction, MintRequest, MintStatus
from backend.chain.txmanager import MonitorResult, monitor_pass
from backend.db import session_scope
from contracts.artifacts import load_artifact
from tests.factories import make_campaign

CHAIN = "local"


@dataclass
class ChainUnderTest:
    kind: str  # "evm" (in-process py-evm) or "anvil"
    w3: Web3
    node: AnvilNode | None = None
    results: list[MonitorResult] = field(default_factory=list)

    def rpc(self, method: str, params: list | None = None):  # type: ignore[type-arg]
        response = self.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
        assert "error" not in response, response
        return response.get("result")

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.rpc("evm_mine")

    def collection(self, address: str):  # type: ignore[no-untyped-def]
        return self.w3.eth.contract(address=address, abi=load_artifact("PrimsellCollection")["abi"])

    def run_passes(self, until: Callable[[], bool], *, max_passes: int = 30, mine_between: bool = False) -> int:
        """Run deployer, dispatcher and monitor passes (as the daemons do) until `until()` holds."""
        for n in range(1, max_passes + 1):
            deploy_pass()
            dispatch_pass()
            self.results.append(monitor_pass(CHAIN, hooks=FINISH_HOOKS))
            if until():
                return n
            if mine_between:
                self.mine()
        raise AssertionError(f"not done after {max_passes} passes; last: {self.results[-1]}")


def evm_chain() -> ChainUnderTest:
    return ChainUnderTest("evm", Web3(EthereumTesterProvider()))


def anvil_chain(**options: object) -> ChainUnderTest:
    node = start_anvil(**options)  # type: ignore[arg-type]
    return ChainUnderTest("anvil", Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None)), node)


@dataclass
class People:
    brand: Brand
    brand_admin: Actor
    platform_admin: Actor
    consumer: Actor


def new_address(w3: Web3) -> str:
    return w3.eth.account.create().address


def deploy_campaign(chain: ChainUnderTest, people: People, **campaign_fields: Any) -> tuple[Any, str]:
    campaign = make_campaign(people.brand, deployed=False, **campaign_fields)
    request_deploy(people.brand_admin, campaign.id)
    chain.run_passes(lambda: deployment_status(people.brand_admin, campaign.id).state in ("deployed", "failed"))
    status = deployment_status(people.brand_admin, campaign.id)
    assert status.state == "deployed", status
    return campaign, status.contract_address  # type: ignore[return-value]


def add_mints(campaign_id: int, wanted: list[tuple[str, str, int]]) -> None:
    with session_scope() as session:
        for key, to, quantity in wanted:
            queue_mint(session, key, campaign_id, to, quantity)


def queue_custodial_withdrawal(actor: Actor, campaign_id: int, token_id: int, to_address: str) -> ChainTransaction:
    """The chain's side of a withdrawal alone (custody.queue_withdrawal, in a transaction of its own): the account's
    checks before it (password, the order's payment, KYC) are tests/orders/test_accounts.py's."""
    with session_scope() as session:
        return queue_withdrawal(session, actor.user_id, campaign_id, token_id, to_address)


def requests_by_key() -> dict[str, MintRequest]:
    with session_scope() as session:
        return {r.key: r for r in session.exec(select(MintRequest))}


def all_settled() -> bool:
    with session_scope() as session:
        return session.exec(select(MintRequest).where(MintRequest.status.in_(  # type: ignore[attr-defined]
            [MintStatus.PENDING, MintStatus.SUBMITTED]))).first() is None


def transactions() -> list[ChainTransaction]:
    with session_scope() as session:
        return list(session.exec(select(ChainTransaction).order_by(ChainTransaction.id)))  # type: ignore[arg-type]


def mint_txs() -> list[ChainTransaction]:
    return [t for t in transactions() if t.purpose.value == "mint_batch"]


def assert_each_minted_once(chain: ChainUnderTest, address: str, expected: dict[str, tuple[str, int]]) -> None:
    collection = chain.collection(address)
    requests_ = requests_by_key()
    total = sum(q for _, q in expected.values())
    assert collection.functions.totalMinted().call() == total
    for key, (owner, quantity) in expected.items():
        r = requests_[key]
        assert r.status is MintStatus.MINTED and len(r.token_ids) == quantity
        assert all(collection.functions.ownerOf(t).call() == owner for t in r.token_ids)

"""Chain test fixtures: a REAL chain per test (the in-process EVM or a fresh anvil), injected as the "local"
chain's client, plus helpers that run the daemons' service passes until something a user would see is true."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from web3 import EthereumTesterProvider, Web3

from backend.auth.acl import Actor, Role
from backend.brands.models import Brand
from backend.chain.anvil import AnvilNode, start_anvil
from backend.chain.client import set_web3
from backend.chain.deployments import deploy_pass
from backend.chain.mints import dispatch_pass
from backend.chain.txmanager import MonitorResult, monitor_pass
from contracts.artifacts import load_artifact
from tests.factories import make_brand, make_user

CHAIN = "local"


@pytest.fixture
def configure(configure: Callable[..., None]) -> Callable[..., None]:
    """The root `configure`, starting from fast, deterministic chain settings."""
    configure(TX_BACKOFF_BASE_SECONDS=0, TX_REPLACE_AFTER_SECONDS=600, CHAIN_CONFIRMATIONS=1)
    return configure


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
            self.results.append(monitor_pass(CHAIN))
            if until():
                return n
            if mine_between:
                self.mine()
        raise AssertionError(f"not done after {max_passes} passes; last: {self.results[-1]}")


def _evm() -> ChainUnderTest:
    return ChainUnderTest("evm", Web3(EthereumTesterProvider()))


def _anvil(**options: object) -> ChainUnderTest:
    node = start_anvil(**options)  # type: ignore[arg-type]
    return ChainUnderTest("anvil", Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None)), node)


@pytest.fixture(params=["evm", "anvil"])
def chain(request: pytest.FixtureRequest, configure: Callable[..., None]) -> Iterator[ChainUnderTest]:
    """Both backends: the same test runs against the in-process EVM and against anvil."""
    under_test = _evm() if request.param == "evm" else _anvil()
    set_web3(CHAIN, under_test.w3)
    yield under_test
    set_web3(CHAIN, None)
    if under_test.node is not None:
        under_test.node.stop()


@pytest.fixture
def anvil(configure: Callable[..., None]) -> Iterator[ChainUnderTest]:
    under_test = _anvil()
    set_web3(CHAIN, under_test.w3)
    yield under_test
    set_web3(CHAIN, None)
    if under_test.node is not None:
        under_test.node.stop()


@dataclass
class People:
    brand: Brand
    brand_admin: Actor
    platform_admin: Actor
    consumer: Actor


@pytest.fixture
def people() -> People:
    brand = make_brand()
    return People(brand, make_user(Role.BRAND_ADMIN, brand), make_user(Role.PLATFORM_ADMIN), make_user())


def new_address(w3: Web3) -> str:
    return w3.eth.account.create().address

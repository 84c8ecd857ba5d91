"""Chain test fixtures: a REAL chain per test (the in-process EVM or a fresh anvil), injected as the "local"
chain's client (the helpers they hand out are in tests/chain/helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.auth.acl import Role
from backend.chain.client import set_web3
from tests.chain.helpers import CHAIN, ChainUnderTest, People, anvil_chain, evm_chain
from tests.factories import make_brand, make_user


@pytest.fixture
def configure(configure: Callable[..., None]) -> Callable[..., None]:
    """The root `configure`, starting from fast, deterministic chain settings."""
    configure(TX_BACKOFF_BASE_SECONDS=0, TX_REPLACE_AFTER_SECONDS=600, CHAIN_CONFIRMATIONS=1)
    return configure


@pytest.fixture(params=["evm", "anvil"])
def chain(request: pytest.FixtureRequest, configure: Callable[..., None]) -> Iterator[ChainUnderTest]:
    """Both backends: the same test runs against the in-process EVM and against anvil."""
    under_test = evm_chain() if request.param == "evm" else anvil_chain()
    set_web3(CHAIN, under_test.w3)
    yield under_test
    set_web3(CHAIN, None)
    if under_test.node is not None:
        under_test.node.stop()


@pytest.fixture
def anvil(configure: Callable[..., None]) -> Iterator[ChainUnderTest]:
    under_test = anvil_chain()
    set_web3(CHAIN, under_test.w3)
    yield under_test
    set_web3(CHAIN, None)
    if under_test.node is not None:
        under_test.node.stop()


@pytest.fixture
def people() -> People:
    brand = make_brand()
    return People(brand, make_user(Role.BRAND_ADMIN, brand), make_user(Role.PLATFORM_ADMIN), make_user())


@pytest.fixture
def chain_env(anvil: ChainUnderTest, configure: Callable[..., None]) -> ChainUnderTest:
    """The runner subprocesses reach the same anvil as the "local" chain (the database comes from the session)."""
    configure(CHAIN_KEY="local", CHAIN_RPC_URL=anvil.node.url)  # type: ignore[union-attr]
    return anvil

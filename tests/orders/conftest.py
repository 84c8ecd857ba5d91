"""Fixtures for orders tests: the same as the payments tests (the app, the sandbox through it, fake Stripe), and
an in-process chain for the journeys that mint."""

from collections.abc import Callable, Iterator

import pytest
from web3 import EthereumTesterProvider, Web3

from backend.chain.client import set_web3
from tests.chain.helpers import ChainUnderTest
from tests.payments.conftest import _quiet_background, client, fake_stripe  # noqa: F401


@pytest.fixture
def evm(configure: Callable[..., None]) -> Iterator[ChainUnderTest]:
    """The "local" chain is an in-process EVM; `evm.run_passes` runs the deployer, dispatcher and monitor."""
    configure(TX_BACKOFF_BASE_SECONDS=0, TX_REPLACE_AFTER_SECONDS=600, CHAIN_CONFIRMATIONS=1)
    under_test = ChainUnderTest("evm", Web3(EthereumTesterProvider()))
    set_web3("local", under_test.w3)
    yield under_test
    set_web3("local", None)

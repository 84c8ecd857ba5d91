"""Contract-test fixtures: one in-process EVM per session, reverted to a snapshot after every test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3

from contracts.artifacts import load_artifact
from contracts.errors import DecodedRevert, decode_revert


@dataclass(frozen=True)
class Accounts:
    """Named roles over eth-tester's 10 funded accounts."""

    admin: str
    minter: str
    royalty: str
    platform: str
    alice: str
    bob: str
    carol: str
    dave: str
    erin: str
    stranger: str


class Chain:
    """Thin helpers over web3 so tests read as user actions."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.accounts = Accounts(*w3.eth.accounts[:10])

    def deploy(self, name: str, *args, sender: str | None = None):
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(*args).transact({"from": sender or self.accounts.admin})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == 1
        return self.w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])

    def deploy_collection(self, max_supply: int = 10_000, royalty_bps: int = 500, base_uri: str = "ipfs://cid/"):
        a = self.accounts
        return self.deploy(
            "PrimsellCollection",
            "Spring Drop",
            "SPRING",
            max_supply,
            a.admin,
            a.minter,
            a.royalty,
            royalty_bps,
            base_uri,
        )

    def tx(self, call, sender: str, value: int = 0):
        """Sends `call` from `sender` (gas is estimated, so a revert raises) and returns the receipt."""
        params = {"from": sender}
        if value:
            params["value"] = value
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact(params))
        assert receipt.status == 1
        return receipt

    def send_eth(self, sender: str, to: str, value: int):
        tx = self.w3.eth.send_transaction({"from": sender, "to": to, "value": value})
        return self.w3.eth.wait_for_transaction_receipt(tx)

    def expect_revert(self, call, sender: str, abi, value: int = 0) -> DecodedRevert:
        """Sends `call` expecting a revert; returns it decoded against `abi` (one ABI or a list)."""
        with pytest.raises(TransactionFailed) as info:
            self.tx(call, sender, value)
        return decode_revert(info.value, abi)

    def fee(self, receipt) -> int:
        """Wei the sender paid for `receipt`'s gas."""
        return receipt.gasUsed * receipt.effectiveGasPrice

    @staticmethod
    def events(contract, receipt, name: str):
        from web3.logs import DISCARD

        return getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)


@pytest.fixture(scope="session")
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture(scope="session")
def chain(w3) -> Chain:
    return Chain(w3)


@pytest.fixture(autouse=True)
def _chain_snapshot(w3):
    """Each test starts from the same chain state; session-scoped deployments happen before it."""
    tester = w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    yield
    tester.revert_to_snapshot(snapshot)


@pytest.fixture(scope="session")
def accounts(chain) -> Accounts:
    return chain.accounts


@pytest.fixture(scope="session")
def collection(chain):
    """A collection with max supply 10,000, 5% royalty to `accounts.royalty`, base URI ipfs://cid/."""
    return chain.deploy_collection()

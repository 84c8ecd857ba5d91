"""What the chain modules (deployments, mints, custody) share: the collection contract's artifact and ABI-bound
contract object, the zero address, and loading a campaign for an actor."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from contracts.artifacts import load_artifact

COLLECTION = "PrimsellCollection"  # the campaign collection's artifact
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def collection_contract(address: str | None = None) -> Any:
    """A web3 contract object for the collection ABI (at `address`, or unbound for encoding calls)."""
    abi = load_artifact(COLLECTION)["abi"]
    return Web3().eth.contract(address=address, abi=abi) if address else Web3().eth.contract(abi=abi)



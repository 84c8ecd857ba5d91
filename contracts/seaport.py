"""Seaport 1.6 on a local chain (anvil or the in-process EVM), for the demo, the tests and the benchmark: deploy
ConduitController + Seaport from the committed artifacts, build listings and offers, sign them (EIP-712, as a wallet
does) and fulfil them with `fulfillOrder(order, bytes32(0))` (no conduit: the seller approves Seaport itself).

Production code needs none of this: it only reads `OrderFulfilled` events (backend/chain/seaport.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from contracts.artifacts import load_artifact

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = "0x" + "00" * 32
FAR_FUTURE = 2**40  # end time of every order built here: they never expire during a demo or a test
NATIVE, ERC20, ERC721 = 0, 1, 2
FULL_OPEN = 0

EIP712_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
    ],
    "OrderComponents": [
        {"name": "offerer", "type": "address"}, {"name": "zone", "type": "address"},
        {"name": "offer", "type": "OfferItem[]"}, {"name": "consideration", "type": "ConsiderationItem[]"},
        {"name": "orderType", "type": "uint8"}, {"name": "startTime", "type": "uint256"},
        {"name": "endTime", "type": "uint256"}, {"name": "zoneHash", "type": "bytes32"},
        {"name": "salt", "type": "uint256"}, {"name": "conduitKey", "type": "bytes32"},
        {"name": "counter", "type": "uint256"},
    ],
    "OfferItem": [
        {"name": "itemType", "type": "uint8"}, {"name": "token", "type": "address"},
        {"name": "identifierOrCriteria", "type": "uint256"}, {"name": "startAmount", "type": "uint256"},
        {"name": "endAmount", "type": "uint256"},
    ],
    "ConsiderationItem": [
        {"name": "itemType", "type": "uint8"}, {"name": "token", "type": "address"},
        {"name": "identifierOrCriteria", "type": "uint256"}, {"name": "startAmount", "type": "uint256"},
        {"name": "endAmount", "type": "uint256"}, {"name": "recipient", "type": "address"},
    ],
}


@dataclass(frozen=True)
class OfferItem:
    item_type: int
    token: str
    identifier: int
    amount: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.item_type, self.token, self.identifier, self.amount, self.amount)

    def as_message(self) -> dict[str, Any]:
        return {"itemType": self.item_type, "token": self.token, "identifierOrCriteria": self.identifier,
                "startAmount": self.amount, "endAmount": self.amount}


@dataclass(frozen=True)
class ConsiderationItem:
    item_type: int
    token: str
    identifier: int
    amount: int
    recipient: str

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.item_type, self.token, self.identifier, self.amount, self.amount, self.recipient)

    def as_message(self) -> dict[str, Any]:
        return {"itemType": self.item_type, "token": self.token, "identifierOrCriteria": self.identifier,
                "startAmount": self.amount, "endAmount": self.amount, "recipient": self.recipient}


@dataclass(frozen=True)
class Order:
    """Seaport's OrderComponents (a FULL_OPEN order with fixed amounts, no zone, no conduit)."""

    offerer: str
    offer: tuple[OfferItem, ...]
    consideration: tuple[ConsiderationItem, ...]
    salt: int
    counter: int = 0
    start_time: int = 0
    end_time: int = FAR_FUTURE
    signature: bytes = b""

    def typed_data(self, chain_id: int, seaport: str) -> dict[str, Any]:
        return {
            "types": EIP712_TYPES,
            "primaryType": "OrderComponents",
            "domain": {"name": "Seaport", "version": "1.6", "chainId": chain_id, "verifyingContract": seaport},
            "message": {
                "offerer": self.offerer, "zone": ZERO_ADDRESS,
                "offer": [i.as_message() for i in self.offer],
                "consideration": [i.as_message() for i in self.consideration],
                "orderType": FULL_OPEN, "startTime": self.start_time, "endTime": self.end_time,
                "zoneHash": ZERO_BYTES32, "salt": self.salt, "conduitKey": ZERO_BYTES32, "counter": self.counter,
            },
        }

    def components(self) -> tuple[Any, ...]:
        """OrderComponents as an ABI tuple (for `getOrderHash`)."""
        return (self.offerer, ZERO_ADDRESS, [i.as_tuple() for i in self.offer],
                [i.as_tuple() for i in self.consideration], FULL_OPEN, self.start_time, self.end_time,
                bytes(32), self.salt, bytes(32), self.counter)

    def parameters(self) -> tuple[Any, ...]:
        """Order(OrderParameters, signature) as an ABI tuple (for `fulfillOrder`)."""
        params = (self.offerer, ZERO_ADDRESS, [i.as_tuple() for i in self.offer],
                  [i.as_tuple() for i in self.consideration], FULL_OPEN, self.start_time, self.end_time,
                  bytes(32), self.salt, bytes(32), len(self.consideration))
        return (params, self.signature)

    @property
    def native_total(self) -> int:
        """The ETH the fulfiller sends with a listing paid in the native coin."""
        return sum(i.amount for i in self.consideration if i.item_type == NATIVE)


def listing(seller: str, collection: str, token_id: int, price: int, payouts: Sequence[tuple[str, int]] = (),
            *, currency: str = ZERO_ADDRESS, salt: int | None = None) -> Order:
    """The seller offers one ERC-721 for `price` (in the native coin, or the ERC-20 `currency`): each payout
    (marketplace fee, royalty) is a consideration item and the seller receives the rest."""
    kind = NATIVE if currency == ZERO_ADDRESS else ERC20
    rest = price - sum(amount for _, amount in payouts)
    if rest < 0:
        raise ValueError("the payouts exceed the price")
    consideration = [ConsiderationItem(kind, currency, 0, rest, seller)]
    consideration += [ConsiderationItem(kind, currency, 0, amount, recipient) for recipient, amount in payouts]
    return Order(seller, (OfferItem(ERC721, collection, token_id, 1),), tuple(consideration), _salt(salt))


def offer(buyer: str, collection: str, token_id: int, price: int, currency: str,
          payouts: Sequence[tuple[str, int]] = (), *, salt: int | None = None) -> Order:
    """The buyer bids `price` of the ERC-20 `currency` for one ERC-721: the NFT to the buyer and the payouts are the
    consideration the seller provides when accepting (the payouts come out of the price the seller receives)."""
    consideration = [ConsiderationItem(ERC721, collection, token_id, 1, buyer)]
    consideration += [ConsiderationItem(ERC20, currency, 0, amount, recipient) for recipient, amount in payouts]
    return Order(buyer, (OfferItem(ERC20, currency, 0, price),), tuple(consideration), _salt(salt))


def _salt(salt: int | None) -> int:
    return int.from_bytes(os.urandom(16), "big") if salt is None else salt


def sign_order(order: Order, account: LocalAccount, *, chain_id: int, seaport: str, counter: int) -> Order:
    """The order with `counter` (from `getCounter(offerer)`) and the offerer's EIP-712 signature."""
    if account.address != to_checksum_address(order.offerer):
        raise ValueError("only the offerer can sign its order")
    order = replace(order, counter=counter)
    message = encode_typed_data(full_message=order.typed_data(chain_id, to_checksum_address(seaport)))
    return replace(order, signature=bytes(account.sign_message(message).signature))


@dataclass
class Wallet:
    """A local key that sends its own transactions (signed here, so the same code runs on anvil and the in-process EVM).
    Nonces are counted locally, so a burst can be sent without waiting for receipts (`wait=False`)."""

    w3: Web3
    account: LocalAccount
    # Fixed fees (a burst on a local node), else asked from the latest block each time.
    max_fee_per_gas: int | None = None
    _nonce: int | None = field(default=None, repr=False)
    _chain_id: int | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, to: str | None, data: str | bytes = b"", value: int = 0, *, gas: int | None = None,
             wait: bool = True) -> Any:
        """Sign and send; with `wait`, return the receipt (and fail on a revert), else the tx hash."""
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        tx: dict[str, Any] = {"from": self.address, "value": value, "data": data, "nonce": self._nonce,
                              "chainId": self._chain_id}
        if to is not None:
            tx["to"] = to
        tx["gas"] = gas or int(self.w3.eth.estimate_gas(tx) * 1.2) + 10_000
        tx["maxPriorityFeePerGas"] = 10**9
        tx["maxFeePerGas"] = self.max_fee_per_gas or 2 * self.w3.eth.get_block("latest")["baseFeePerGas"] + 10**9
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self._nonce += 1
        if not wait:
            return tx_hash
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def call(self, fn: Any, value: int = 0, *, gas: int | None = None, wait: bool = True) -> Any:
        """Send a bound contract function (`contract.functions.f(...)`)."""
        return self.send(fn.address, fn._encode_transaction_data(), value, gas=gas, wait=wait)


def wallet(w3: Web3, key: bytes | str | None = None) -> Wallet:
    return Wallet(w3, Account.from_key(key) if key is not None else Account.create())


@dataclass(frozen=True)
class SeaportDeployment:
    seaport: str
    conduit_controller: str
    block_number: int  # Seaport's deploy block


@cache
def _abi(name: str) -> list[Any]:
    return load_artifact(name)["abi"]


def seaport_contract(w3: Web3, address: str) -> Any:
    return w3.eth.contract(address=to_checksum_address(address), abi=_abi("Seaport"))


_ORDER = ("((address,address,(uint8,address,uint256,uint256,uint256)[],"
          "(uint8,address,uint256,uint256,uint256,address)[],uint8,uint256,uint256,bytes32,uint256,bytes32,uint256),bytes)")
_FULFILL_ORDER = keccak(text=f"fulfillOrder({_ORDER},bytes32)")[:4]


def deploy(w3: Web3, deployer: Wallet, name: str, *args: Any) -> Any:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    return deployer.send(None, factory.constructor(*args).data_in_transaction)


def deploy_seaport(w3: Web3, deployer: Wallet) -> SeaportDeployment:
    """ConduitController, then Seaport(conduitController); checks `information()` says version 1.6."""
    controller = deploy(w3, deployer, "ConduitController")["contractAddress"]
    receipt = deploy(w3, deployer, "Seaport", controller)
    seaport = receipt["contractAddress"]
    version = seaport_contract(w3, seaport).functions.information().call()[0]
    if version != "1.6":
        raise RuntimeError(f"deployed Seaport reports version {version!r}")
    return SeaportDeployment(seaport, controller, int(receipt["blockNumber"]))


def signed(w3: Web3, seaport: str, order: Order, offerer: Wallet) -> Order:
    """`sign_order` with the offerer's current counter read from the chain."""
    counter = seaport_contract(w3, seaport).functions.getCounter(offerer.address).call()
    return sign_order(order, offerer.account, chain_id=w3.eth.chain_id, seaport=seaport, counter=counter)


def fulfil(w3: Web3, seaport: str, order: Order, fulfiller: Wallet, *, wait: bool = True,
           gas: int | None = None) -> Any:
    """`fulfillOrder(order, bytes32(0))` from `fulfiller`, sending the native total of a listing."""
    # Encoded here rather than through web3's contract object, which re-validates Seaport's whole ABI on every call
    # (the benchmark sends a thousand fills).
    data = _FULFILL_ORDER + encode([_ORDER, "bytes32"], [order.parameters(), bytes(32)])
    return fulfiller.send(to_checksum_address(seaport), data, order.native_total, gas=gas, wait=wait)


def order_hash(w3: Web3, seaport: str, order: Order) -> str:
    return "0x" + bytes(seaport_contract(w3, seaport).functions.getOrderHash(order.components()).call()).hex()

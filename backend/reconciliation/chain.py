"""What reconciliation reads back from the chain itself (not from our rows): a collection's mint and burn `Transfer`
logs, `totalSupply`, `ownerOf`, the receipts of our mint transactions, and block times. Through the same bulk reader
as the indexer (raw JSON-RPC, batched where the node allows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eth_abi import decode, encode
from eth_utils import keccak

from backend.chain.mints import TRANSFER_TOPIC, ZERO_TOPIC
from backend.chain.reader import ChainReader, ChainReadError

_TOTAL_SUPPLY = keccak(text="totalSupply()")[:4]
_OWNER_OF = keccak(text="ownerOf(uint256)")[:4]


@dataclass(frozen=True)
class Mint:
    token_id: int
    to: str  # lower case
    tx_hash: str
    block: int


@dataclass
class Collection:
    """One collection as the chain shows it up to `head`."""

    address: str
    head: int
    mints: dict[int, Mint] = field(default_factory=dict)  # token id -> its mint (Transfer from the zero address)
    burns: int = 0  # Transfers to the zero address
    total_supply: int | None = None


def _address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def read_collection(reader: ChainReader, address: str, from_block: int, head: int, block_range: int) -> Collection:
    """Every mint and burn of the collection from its deploy block to `head`, and its totalSupply at `head`."""
    found = Collection(address=address, head=head)
    start = max(0, from_block)
    while start <= head:
        end = min(head, start + block_range - 1)
        for log in reader.get_logs([address], TRANSFER_TOPIC, start, end):
            topics = [t.lower() for t in log["topics"]]
            if len(topics) != 4:
                continue
            if topics[1] == ZERO_TOPIC:
                token_id = int(topics[3], 16)
                found.mints[token_id] = Mint(token_id, _address(topics[2]), log["transactionHash"].lower(),
                                             int(log["blockNumber"]))
            elif topics[2] == ZERO_TOPIC:
                found.burns += 1
        start = end + 1
    [supply] = reader.calls([(address, _TOTAL_SUPPLY, head)])
    if isinstance(supply, ChainReadError):
        raise supply
    found.total_supply = int(decode(["uint256"], supply)[0])
    return found


def existing_tokens(reader: ChainReader, address: str, token_ids: Iterable[int], block: int) -> set[int]:
    """The tokens among `token_ids` that exist at `block` (`ownerOf` answers; it reverts for a burned or never-minted
    token)."""
    wanted = sorted(set(token_ids))
    results = reader.calls([(address, _OWNER_OF + encode(["uint256"], [t]), block) for t in wanted])
    return {t for t, r in zip(wanted, results, strict=True) if not isinstance(r, ChainReadError)}


@dataclass(frozen=True)
class ReceiptMints:
    status: int | None  # 1 mined and succeeded, 0 reverted, None not found (never mined, or dropped by a reorg)
    mints: dict[int, str]  # token id -> recipient (lower case), of the collection at `address`


def receipt_mints(reader: ChainReader, tx_hash: str, address: str) -> ReceiptMints:
    receipt = reader.receipt(tx_hash)
    if receipt is None:
        return ReceiptMints(None, {})
    mints = {}
    for log in receipt["logs"]:
        topics = [t.lower() for t in log["topics"]]
        if (len(topics) == 4 and topics[0] == TRANSFER_TOPIC and topics[1] == ZERO_TOPIC
                and str(log["address"]).lower() == address.lower()):
            mints[int(topics[3], 16)] = _address(topics[2])
    return ReceiptMints(int(receipt["status"]), mints)


def block_times(reader: ChainReader, blocks: Sequence[int]) -> dict[int, int]:
    """{block number: unix time}."""
    return {number: timestamp for number, (_hash, timestamp) in reader.headers(blocks).items()}

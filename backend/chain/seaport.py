"""Seaport 1.6 `OrderFulfilled` events read straight from log topics and data (eth-abi), and what a fill says about a
sale of one of our tokens: price, currency, buyer and seller, and how the payment was split (FORMATS.md §2).

Listing fill: the offerer sells (offer = the NFT, consideration = the payment splits, the buyer is the event's
`recipient`). Offer fill (an accepted bid): the offerer buys (offer = the payment, consideration = the NFT to the
offerer plus the fees the seller pays out of it; the seller is the `recipient`). Either way the price is the sum of the
payment items on the buyer's side; the royalty paid is the sum of payment items in the consideration to the
`royaltyInfo` receiver; a fee is a payment item in the consideration to a known marketplace fee recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from backend.errors import ValidationFailed
from backend.sales.normalise import checksum_address

ORDER_FULFILLED_TOPIC = "0x" + keccak(
    text="OrderFulfilled(bytes32,address,address,address,(uint8,address,uint256,uint256)[],"
         "(uint8,address,uint256,uint256,address)[])").hex()
_DATA_TYPES = ("bytes32", "address", "(uint8,address,uint256,uint256)[]", "(uint8,address,uint256,uint256,address)[]")
NATIVE = "0x0000000000000000000000000000000000000000"
UNKNOWN_MARKETPLACE = "seaport"  # a Seaport fill paying no known marketplace fee recipient


class ItemType(IntEnum):
    NATIVE = 0
    ERC20 = 1
    ERC721 = 2
    ERC1155 = 3
    ERC721_WITH_CRITERIA = 4
    ERC1155_WITH_CRITERIA = 5


PAYMENT_TYPES = frozenset({ItemType.NATIVE, ItemType.ERC20})


@dataclass(frozen=True, slots=True)
class Item:
    """A SpentItem (recipient None) or ReceivedItem of the event; addresses in lower case."""

    item_type: int
    token: str
    identifier: int
    amount: int
    recipient: str | None = None

    @property
    def is_payment(self) -> bool:
        return self.item_type in PAYMENT_TYPES

    @property
    def is_nft(self) -> bool:
        return self.item_type >= ItemType.ERC721


@dataclass(frozen=True, slots=True)
class OrderFulfilled:
    """One decoded `OrderFulfilled` log. Addresses in lower case; hashes 0x + lower-case hex."""

    seaport: str
    order_hash: str
    offerer: str
    zone: str
    recipient: str
    offer: tuple[Item, ...]
    consideration: tuple[Item, ...]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def _hex(value: Any) -> str:
    return (value if isinstance(value, str) else "0x" + bytes(value).hex()).lower()


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(value, 16)


def decode_order_fulfilled(log: Mapping[str, Any]) -> OrderFulfilled:
    """Decode one log (a JSON-RPC log object, or web3's formatted one). Raises ValueError if it is not a well-formed
    OrderFulfilled."""
    topics = [_hex(t) for t in log["topics"]]
    if len(topics) != 3 or topics[0] != ORDER_FULFILLED_TOPIC:
        raise ValueError("not an OrderFulfilled log")
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    order_hash, recipient, offer, consideration = decode(_DATA_TYPES, raw)
    return OrderFulfilled(
        seaport=str(log["address"]).lower(),
        order_hash="0x" + order_hash.hex(),
        offerer="0x" + topics[1][-40:],
        zone="0x" + topics[2][-40:],
        recipient=recipient.lower(),
        offer=tuple(Item(t, token.lower(), ident, amount) for t, token, ident, amount in offer),
        consideration=tuple(Item(t, token.lower(), ident, amount, rcpt.lower())
                            for t, token, ident, amount, rcpt in consideration),
        block_number=_int(log["blockNumber"]),
        block_hash=_hex(log["blockHash"]),
        tx_hash=_hex(log["transactionHash"]),
        log_index=_int(log["logIndex"]),
    )


@dataclass(frozen=True, slots=True)
class TokenSale:
    """One token of our collection sold by one fill, with its share of the payment (a bundle's price is split evenly
    over all its NFTs, ours or not, the remainder to the first, so the parts add up to the whole).
    Addresses checksummed."""

    collection: str
    token_id: int
    quantity: int
    price: int
    currency: str
    seller: str
    buyer: str
    marketplace: str
    royalty_paid: int  # to `royalty_receiver`, when known; 0 otherwise
    fees: tuple[tuple[str, int], ...]
    royalty_receiver: str | None
    fill: OrderFulfilled


def fill_sides(fill: OrderFulfilled) -> tuple[str, str, tuple[Item, ...], tuple[Item, ...]]:
    """(seller, buyer, NFT items sold, payment items the buyer paid) of a fill, by its shape: the NFTs are offered in a
    listing fill and asked for in an offer fill."""
    offered_nfts = tuple(i for i in fill.offer if i.is_nft)
    if offered_nfts:
        return fill.offerer, fill.recipient, offered_nfts, tuple(i for i in fill.consideration if i.is_payment)
    asked_nfts = tuple(i for i in fill.consideration if i.is_nft and i.recipient == fill.offerer)
    return fill.recipient, fill.offerer, asked_nfts, tuple(i for i in fill.offer if i.is_payment)


def _share(total: int, parts: int, n: int) -> int:
    """Part `n` of `total` split evenly in `parts`, the remainder on part 0: the parts add up to the total."""
    share, rest = divmod(total, parts)
    return share + (rest if n == 0 else 0)


def token_sales(fill: OrderFulfilled, collections: Iterable[str], fee_recipients: Mapping[str, str],
                royalty_receivers: Mapping[tuple[str, int], str | None] | None = None) -> list[TokenSale]:
    """The sales of tokens of `collections` (lower-case addresses) in one fill; [] when it sold none of them.

    `fee_recipients`: lower-case address -> marketplace name. `royalty_receivers`: (collection, token id) -> the
    `royaltyInfo` receiver at the sale's block (lower case), when the caller knows it; the royalty paid is then the
    sum of payment items in the consideration to that receiver (a receiver that is also a fee recipient counts as
    royalty). Raises ValidationFailed for a fill this cannot price (payments in several currencies)."""
    wanted = set(collections)
    seller, buyer, nfts, payments = fill_sides(fill)
    ours = [i for i in nfts if i.token in wanted]
    if not ours:
        return []
    currencies = {p.token for p in payments}
    if len(currencies) > 1:
        raise ValidationFailed(f"fill {fill.tx_hash}:{fill.log_index} pays in several currencies")
    currency = next(iter(currencies), NATIVE)
    price = sum(p.amount for p in payments)
    consideration_payments = [i for i in fill.consideration if i.is_payment and i.token == currency]
    receivers = royalty_receivers or {}
    marketplace = next((fee_recipients[i.recipient] for i in consideration_payments if i.recipient in fee_recipients),
                       UNKNOWN_MARKETPLACE)
    # A bundle: each NFT in it carries an even share of the price and fees (the rest on the first), tokens of other
    # collections too, so a bundle with a foreign NFT does not charge its whole price to ours. The royalty paid to
    # our receiver is for our tokens alone, so it is shared among them.
    parts, positions = len(nfts), {id(item): n for n, item in enumerate(nfts)}
    sales = []
    for n, item in enumerate(ours):
        at = positions[id(item)]
        receiver = receivers.get((item.token, item.identifier))
        paid = sum(i.amount for i in consideration_payments if receiver is not None and i.recipient == receiver)
        fee_totals: dict[str, int] = {}
        for i in consideration_payments:
            if i.recipient in fee_recipients and i.recipient != receiver:
                fee_totals[i.recipient] = fee_totals.get(i.recipient, 0) + i.amount
        sales.append(TokenSale(
            collection=checksum_address(item.token), token_id=item.identifier,
            quantity=item.amount if item.item_type in (ItemType.ERC1155, ItemType.ERC1155_WITH_CRITERIA) else 1,
            price=_share(price, parts, at), currency=checksum_address(currency),
            seller=checksum_address(seller), buyer=checksum_address(buyer), marketplace=marketplace,
            royalty_paid=_share(paid, len(ours), n),
            fees=tuple((checksum_address(r), _share(a, parts, at)) for r, a in sorted(fee_totals.items())),
            royalty_receiver=checksum_address(receiver) if receiver else None, fill=fill,
        ))
    return sales


def parse_addresses(text: str) -> tuple[str, ...]:
    """`SEAPORT_ADDRESSES`: a comma list of addresses -> lower case, deduplicated, in order."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            address = to_checksum_address(part).lower()
        except ValueError:
            raise ValidationFailed(f"SEAPORT_ADDRESSES: {part!r} is not an address") from None
        if address not in out:
            out.append(address)
    return tuple(out)


def parse_fee_recipients(mapping: Mapping[str, str]) -> dict[str, str]:
    """`MARKETPLACE_FEE_RECIPIENTS` {address: marketplace} -> {lower-case address: lower-case marketplace}."""
    out = {}
    for address, marketplace in mapping.items():
        try:
            key = to_checksum_address(address).lower()
        except ValueError:
            raise ValidationFailed(f"MARKETPLACE_FEE_RECIPIENTS: {address!r} is not an address") from None
        if not isinstance(marketplace, str) or not marketplace.strip():
            raise ValidationFailed(f"MARKETPLACE_FEE_RECIPIENTS: no marketplace name for {address}")
        out[key] = marketplace.strip().lower()
    return out


def nft_transfers_match(sales: Sequence[TokenSale], transfers: set[tuple[str, int, str, str]]) -> bool:
    """Whether every token sold in a fill moved from its seller to its buyer in the same transaction
    (`transfers`: lower-case (collection, token id, from, to) of that transaction's Transfer logs)."""
    return all((s.collection.lower(), s.token_id, s.seller.lower(), s.buyer.lower()) in transfers for s in sales)

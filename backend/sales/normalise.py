"""Canonical forms for the ledger's keys: EIP-55 addresses and 0x-lowercase hashes, and the check of a whole
`SaleReport`. Cheap on the hot path: checksums are cached (a collection, a currency, a busy wallet repeat)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from eth_hash.auto import keccak

from backend.sales.reports import SaleReport

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-f]{64}$")
KNOWN_SOURCES = ("chain", "opensea", "rarible")
MAX_UINT256 = 2**256 - 1
# The ledger's columns: sale.quantity is an INTEGER, sale.block_number and sale.chain_id are BIGINTs. A number past
# them fails the bulk insert of its whole chunk, so it is a malformed report, never stored.
MAX_QUANTITY = 2**31 - 1
MAX_BIGINT = 2**63 - 1
# A currency symbol is whatever the token's deployer chose: it is kept only if made of ASCII letters, digits, ". - _"
# and spaces (USDC.e, BETH), else stored as the placeholder (no markup, formulas or look-alike letters downstream).
SYMBOL_PLACEHOLDER = "?"
_SAFE_SYMBOL = re.compile(r"[A-Za-z0-9._ -]+")


class BadReport(ValueError):
    """A report the ledger cannot store; the message says which field is wrong."""


@lru_cache(maxsize=65536)
def _checksum_lower(lower: str) -> str:
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def checksum_address(value: str) -> str:
    """EIP-55 form of a 0x address (any case in); BadReport if it is not one."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise BadReport(f"not an address: {str(value)[:60]!r}")
    return _checksum_lower(value[2:].lower())


def tx_hash(value: str) -> str:
    value = value.lower() if isinstance(value, str) else value
    if not isinstance(value, str) or not _HASH.match(value):
        raise BadReport(f"not a transaction hash: {str(value)[:80]!r}")
    return value


def optional_hash(value: str | None) -> str | None:
    """A 32-byte hash, or None for an empty one (OpenSea's order_hash may be "")."""
    if value is None or value == "":
        return None
    return tx_hash(value)


def safe_symbol(symbol: str) -> str:
    """The symbol if it is made of safe characters (see _SAFE_SYMBOL), else the placeholder."""
    return symbol if symbol == SYMBOL_PLACEHOLDER or _SAFE_SYMBOL.fullmatch(symbol) else SYMBOL_PLACEHOLDER


def _nonneg_int(name: str, value: object, maximum: int = MAX_UINT256) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise BadReport(f"{name} must be an integer from 0 to {maximum}, not {str(value)[:40]!r}")
    return value


_CANONICAL: set[str] = set()  # addresses seen already in EIP-55 form (wallets, collections, currencies repeat)


def _canonical_address(value: object) -> bool:
    if not isinstance(value, str):
        return False
    if value in _CANONICAL:  # only ever holds strings that passed the check below
        return True
    if _ADDRESS.match(value) is not None and _checksum_lower(value[2:].lower()) == value:
        if len(_CANONICAL) >= 65536:
            _CANONICAL.clear()
        _CANONICAL.add(value)
        return True
    return False


def _is_canonical(report: SaleReport) -> bool:
    """Already in the form `normalise` would give (the marketplace parsers make it): no copy needed."""
    return (isinstance(report.tx_hash, str) and _HASH.match(report.tx_hash) is not None
            and _canonical_address(report.collection) and _canonical_address(report.currency_address)
            and _canonical_address(report.seller) and _canonical_address(report.buyer)
            and report.block_hash is None and report.order_hash is None and report.royalty_receiver is None
            and not report.fees and len(report.external_id) <= 200
            and report.marketplace == report.marketplace.strip().lower()
            and report.currency_symbol == report.currency_symbol.strip()
            and safe_symbol(report.currency_symbol) == report.currency_symbol)


def normalise(report: SaleReport) -> SaleReport:
    """The report in canonical form, or BadReport. Idempotent: a normalised report comes back equal."""
    if report.source not in KNOWN_SOURCES:
        raise BadReport(f"unknown source {report.source!r}")
    _nonneg_int("chain_id", report.chain_id, MAX_BIGINT)
    if report.chain_id == 0:
        raise BadReport("chain_id must be positive")
    _nonneg_int("token_id", report.token_id)
    _nonneg_int("price", report.price)
    if _nonneg_int("quantity", report.quantity, MAX_QUANTITY) == 0:
        raise BadReport("quantity must be positive")
    if not 0 <= _nonneg_int("currency_decimals", report.currency_decimals, 77) <= 36:
        raise BadReport("currency_decimals must be 0-36")
    if not isinstance(report.sold_at, datetime) or report.sold_at.tzinfo is None:
        raise BadReport("sold_at must be a timezone-aware datetime")
    if report.block_number is not None:
        _nonneg_int("block_number", report.block_number, MAX_BIGINT)
    if report.log_index is not None:
        _nonneg_int("log_index", report.log_index, 2**31 - 1)
    symbol = (report.currency_symbol or "").strip()
    marketplace = (report.marketplace or "").strip().lower()
    if not symbol or len(symbol) > 16:
        raise BadReport("currency_symbol must be 1-16 characters")
    if not marketplace or len(marketplace) > 32:
        raise BadReport("marketplace must be 1-32 characters")
    if report.royalty_paid is not None:
        _nonneg_int("royalty_paid", report.royalty_paid)
    if _is_canonical(report):
        return report
    fees = tuple((checksum_address(recipient), _nonneg_int("fee", amount)) for recipient, amount in report.fees)
    return replace(
        report,
        tx_hash=tx_hash(report.tx_hash),
        collection=checksum_address(report.collection),
        currency_address=checksum_address(report.currency_address),
        currency_symbol=safe_symbol(symbol),
        marketplace=marketplace,
        seller=checksum_address(report.seller),
        buyer=checksum_address(report.buyer),
        external_id=(report.external_id or "")[:200],
        block_hash=optional_hash(report.block_hash),
        order_hash=optional_hash(report.order_hash),
        royalty_receiver=None if report.royalty_receiver is None else checksum_address(report.royalty_receiver),
        fees=fees,
    )

"""BIP-32 keys of the custodial wallets, split so the web tier never holds a private key.

Custodial wallet i lives at m/44'/60'/0'/0/i. The web process derives its ADDRESS from the extended public key of
the parent node m/44'/60'/0'/0 (`CUSTODY_XPUB`): child i of an xpub is a non-hardened public derivation, so the
xpub yields every address and no key. Only the job runner, which signs withdrawals, holds `CUSTODY_SEED` and
derives private keys (eth-account's HD code, which derives private keys only).

Public derivation uses pycoin's BIP32Node (no dependencies; it uses the system libsecp256k1 when present).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_utils import ValidationError, keccak, to_checksum_address

# The parent of every custodial wallet; wallet i is its non-hardened child i.
ACCOUNT_PATH = "m/44'/60'/0'/0"
ACCOUNT_DEPTH = 4
CUSTODY_PATH = ACCOUNT_PATH + "/{index}"
MAX_INDEX = 2**31 - 1  # non-hardened child indexes
_MNEMONIC_WORDS = (12, 15, 18, 21, 24)


class ExtendedKeyError(ValueError):
    """The extended key cannot be used; the message never quotes the key."""


class SeedError(ValueError):
    """CUSTODY_SEED cannot be used; the message never quotes it."""


def seed_from_secret(secret: str) -> bytes:
    """The BIP-32 seed behind `CUSTODY_SEED`: a BIP-39 mnemonic, or any other secret hashed into 64 bytes."""
    words = secret.split()
    if len(words) in _MNEMONIC_WORDS:
        try:
            return seed_from_mnemonic(" ".join(words), "")
        except ValidationError:  # its message quotes the words: never pass it on
            raise SeedError(f"has {len(words)} words like a BIP-39 mnemonic, but not a valid one (a typo, or a "
                            "wrong word list?)") from None
    return hashlib.sha512(b"primsell-custody-seed:" + secret.encode()).digest()


def private_key(seed: bytes, index: int) -> bytes:
    """The private key of custodial wallet `index` (job runner only)."""
    return key_from_seed(seed, CUSTODY_PATH.format(index=index))


def account_xpub(seed: bytes) -> str:
    """The extended public key of m/44'/60'/0'/0 under `seed` (what CUSTODY_XPUB holds)."""
    from pycoin.symbols.btc import network

    return network.keys.bip32_seed(seed).subkey_for_path("44H/60H/0H/0").hwif(as_private=False)


def check_xpub(xpub: str) -> None:
    """Raise ExtendedKeyError unless `xpub` is an extended PUBLIC key at the custodial account's depth."""
    from pycoin.symbols.btc import network

    value = xpub.strip()
    if network.parse.bip32_prv(value) is not None:
        raise ExtendedKeyError("is an extended PRIVATE key: give the extended public key (xpub...) instead, and "
                               "treat this one as leaked")
    node = network.parse.bip32_pub(value)
    if node is None:
        raise ExtendedKeyError("is not a BIP-32 extended public key (xpub...)")
    if node.tree_depth() != ACCOUNT_DEPTH:
        raise ExtendedKeyError(f"must be the extended public key of {ACCOUNT_PATH} (depth {ACCOUNT_DEPTH}); "
                               f"this one is at depth {node.tree_depth()}")


@lru_cache(maxsize=4096)
def address_from_xpub(xpub: str, index: int) -> str:
    """The checksummed Ethereum address of child `index` of `xpub`: keccak of the uncompressed public key."""
    from pycoin.symbols.btc import network

    if not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise ValueError("a custodial wallet index is 0..2**31-1")
    node = network.parse.bip32_pub(xpub.strip())
    if node is None:
        raise ExtendedKeyError("is not a BIP-32 extended public key (xpub...)")
    public = node.subkey(index).sec(is_compressed=False)  # 0x04 || X || Y
    return to_checksum_address(keccak(public[1:])[-20:])

"""The platform signer and the custodial wallets' keys. Keys are derived when signing and never stored,
logged or put in a repr; only addresses leave this module."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from backend.errors import ValidationFailed
from backend.settings import ConfigurationError, Settings, get_settings

PLATFORM = "platform"
CUSTODY_PREFIX = "custody:"
CUSTODY_PATH = "m/44'/60'/0'/0/{index}"
_MAX_HD_INDEX = 2**31 - 1  # non-hardened child indexes


def _platform_key(settings: Settings) -> bytes:
    if settings.signer_keystore_path is not None:
        from eth_keyfile import decode_keyfile_json

        password = settings.require_secret("signer_keystore_password")
        keyfile = json.loads(settings.signer_keystore_path.read_text())
        return bytes(decode_keyfile_json(keyfile, password.encode()))
    value = settings.require_secret("platform_signer_key")
    hex_part = value[2:] if value.startswith("0x") else value
    if len(hex_part) == 64:
        try:
            return bytes.fromhex(hex_part)
        except ValueError:
            pass
    if settings.is_production:
        # A typo must not silently become another key that nobody funded.
        raise ConfigurationError("PLATFORM_SIGNER_KEY must be a 32-byte hex private key (0x + 64 hex digits).")
    # A generated development secret is random text, not a key: hash it into one (always a valid key in practice).
    return keccak(text=value)


@lru_cache(maxsize=4)
def _platform_account(_source: tuple[object, ...]) -> LocalAccount:
    # Keyed on where the key comes from, so a keystore (scrypt: slow on purpose) is decrypted once per change.
    return Account.from_key(_platform_key(get_settings()))


def platform_account() -> LocalAccount:
    """The platform signer (deploys, mints, pays custodial gas)."""
    s = get_settings()
    path = s.signer_keystore_path
    source = (str(path), path.stat().st_mtime_ns if path and path.exists() else None,
              s.signer_keystore_password, s.platform_signer_key)
    return _platform_account(source)


def platform_address() -> str:
    return platform_account().address


def _custody_seed(settings: Settings) -> bytes:
    try:
        value = settings.require_secret("custody_seed")
    except ConfigurationError:
        raise
    words = value.split()
    if len(words) in (12, 15, 18, 21, 24):
        return seed_from_mnemonic(" ".join(words), "")
    # Any other secret is hashed into a 64-byte BIP-32 seed.
    return hashlib.sha512(b"primsell-custody-seed:" + value.encode()).digest()


def custodial_account(user_id: int) -> LocalAccount:
    """The custodial wallet of `user_id`: BIP-32 path m/44'/60'/0'/0/<user_id> under the platform's seed."""
    if not isinstance(user_id, int) or not 0 < user_id <= _MAX_HD_INDEX:
        raise ValidationFailed("Bad user id.", fields={"user_id": "must be a positive integer"})
    key = key_from_seed(_custody_seed(get_settings()), CUSTODY_PATH.format(index=user_id))
    return Account.from_key(key)


def custodial_address(user_id: int) -> str:
    """The checksummed address the platform holds tokens at for a consumer without a wallet."""
    return custodial_account(user_id).address


def signer_account(signer: str) -> LocalAccount:
    """Resolve a transaction's `signer` reference ("platform" or "custody:<user_id>") to its key."""
    if signer == PLATFORM:
        return platform_account()
    if signer.startswith(CUSTODY_PREFIX):
        return custodial_account(int(signer[len(CUSTODY_PREFIX):]))
    raise ValueError(f"unknown signer reference {signer!r}")

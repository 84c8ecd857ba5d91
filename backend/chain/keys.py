"""The platform signer and the custodial wallets' keys. Keys are derived when signing and never stored,
logged or put in a repr; only addresses leave this module.

Custodial ADDRESSES come from CUSTODY_XPUB (public derivation, backend/chain/hd.py): the web process shows them
without holding CUSTODY_SEED. Custodial private KEYS come from CUSTODY_SEED, which only the job runner holds; it
checks at start that its seed matches the xpub (`check_custody_keys`)."""

from __future__ import annotations

import json
from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from backend.chain import hd
from backend.errors import ValidationFailed
from backend.settings import ConfigurationError, Settings, get_settings

PLATFORM = "platform"
CUSTODY_PREFIX = "custody:"
CUSTODY_PATH = hd.CUSTODY_PATH
_MAX_HD_INDEX = hd.MAX_INDEX


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
    if not settings.custody_seed or not settings.custody_seed.get_secret_value():
        raise ConfigurationError(
            "CUSTODY_SEED is not set in this process: only the job runner holds it (it signs custodial withdrawals); "
            "the web process shows custodial addresses from CUSTODY_XPUB.")
    try:
        return hd.seed_from_secret(settings.custody_seed.get_secret_value())
    except hd.SeedError as exc:
        raise ConfigurationError(f"CUSTODY_SEED {exc}") from None


def _check_user_id(user_id: int) -> None:
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= _MAX_HD_INDEX:
        raise ValidationFailed("Bad user id.", fields={"user_id": "must be a positive integer"})


def custodial_account(user_id: int) -> LocalAccount:
    """The custodial wallet's KEY (job runner only): BIP-32 path m/44'/60'/0'/0/<user_id> under CUSTODY_SEED."""
    _check_user_id(user_id)
    return Account.from_key(hd.private_key(_custody_seed(get_settings()), user_id))


def custodial_address(user_id: int) -> str:
    """The checksummed address the platform holds tokens at for a consumer without a wallet, from CUSTODY_XPUB."""
    _check_user_id(user_id)
    return hd.address_from_xpub(get_settings().custody_xpub, user_id)


def check_custody_keys(settings: Settings | None = None) -> None:
    """For the job runner at start: it holds CUSTODY_SEED, and that seed is the one behind CUSTODY_XPUB (otherwise
    tokens would sit at addresses whose keys it does not have)."""
    settings = settings or get_settings()
    if hd.account_xpub(_custody_seed(settings)) != settings.custody_xpub.strip():
        raise ConfigurationError(
            "CUSTODY_SEED does not match CUSTODY_XPUB: the custodial addresses the web process shows would not be "
            "this runner's keys. `python -m backend custody-xpub` prints the one of this seed.")


def custody_xpub_for_seed(settings: Settings | None = None) -> str:
    """What CUSTODY_XPUB must be for this process's CUSTODY_SEED (printed by the runner for the operator)."""
    return hd.account_xpub(_custody_seed(settings or get_settings()))


def signer_address(signer: str) -> str:
    """The address of a transaction's `signer` reference, without touching a custodial key (web process safe)."""
    if signer == PLATFORM:
        return platform_address()
    if signer.startswith(CUSTODY_PREFIX):
        return custodial_address(int(signer[len(CUSTODY_PREFIX):]))
    raise ValueError(f"unknown signer reference {signer!r}")


def signer_account(signer: str) -> LocalAccount:
    """Resolve a transaction's `signer` reference ("platform" or "custody:<user_id>") to its key."""
    if signer == PLATFORM:
        return platform_account()
    if signer.startswith(CUSTODY_PREFIX):
        return custodial_account(int(signer[len(CUSTODY_PREFIX):]))
    raise ValueError(f"unknown signer reference {signer!r}")

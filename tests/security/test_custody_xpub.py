"""The web tier derives custodial ADDRESSES from CUSTODY_XPUB and never holds CUSTODY_SEED; only the job runner
derives keys, and it refuses to start with a seed that is not the one behind the xpub."""

from __future__ import annotations

import pytest
from eth_account import Account
from pycoin.symbols.btc import network

from backend.chain import hd
from backend.chain.keys import check_custody_keys, custodial_account, custodial_address
from backend.settings import ConfigurationError, get_settings
from jobs.__main__ import check_signing_keys
from jobs.registry import BY_NAME
from tests.security.conftest import STRONG_CUSTODY_SEED

INDEXES = [1, 2, 3, 42, 1000, 65_537, 2**31 - 1]


def test_addresses_from_the_xpub_equal_those_from_the_seed() -> None:
    seed = hd.seed_from_secret(STRONG_CUSTODY_SEED)
    xpub = hd.account_xpub(seed)
    for index in INDEXES:
        assert hd.address_from_xpub(xpub, index) == Account.from_key(hd.private_key(seed, index)).address
    mnemonic = "test test test test test test test test test test test junk"
    xpub = hd.account_xpub(hd.seed_from_secret(mnemonic))
    Account.enable_unaudited_hdwallet_features()
    for index in (0, 1, 7):  # the well-known development mnemonic, through eth-account's own path handling
        expected = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}").address
        assert hd.address_from_xpub(xpub, index) == expected


def test_the_web_process_without_custody_seed_shows_custodial_addresses(production) -> None:
    production(CUSTODY_SEED=None)  # the production web process: CUSTODY_XPUB only
    settings = get_settings()
    assert settings.custody_seed is None and settings.custody_xpub
    seed = hd.seed_from_secret(STRONG_CUSTODY_SEED)
    for index in INDEXES[:4]:
        assert custodial_address(index) == Account.from_key(hd.private_key(seed, index)).address
    with pytest.raises(ConfigurationError, match="only the job runner holds it"):
        custodial_account(1)  # ... and cannot derive a key


def test_development_derives_the_xpub_from_its_generated_seed() -> None:
    settings = get_settings()  # the test environment: generated secrets, no CUSTODY_XPUB given
    assert settings.custody_xpub == hd.account_xpub(hd.seed_from_secret(settings.require_secret("custody_seed")))
    assert custodial_address(5) == custodial_account(5).address


def test_the_job_runner_refuses_a_seed_that_does_not_match_the_xpub(production) -> None:
    other = hd.account_xpub(hd.seed_from_secret("another-seed-entirely-Zq8Lm3Xv7Tn2Rb9Wk4"))
    production(CUSTODY_XPUB=other)
    with pytest.raises(ConfigurationError, match="CUSTODY_SEED does not match CUSTODY_XPUB"):
        check_custody_keys()
    with pytest.raises(ConfigurationError, match="does not match"):
        check_signing_keys([BY_NAME["outbox_relay"]])  # any seed a runner holds must match
    production()
    check_custody_keys()  # the matching pair starts


def test_a_runner_that_signs_needs_the_seed(production) -> None:
    production(CUSTODY_SEED=None)
    check_signing_keys([BY_NAME["outbox_relay"], BY_NAME["fx_rate_refresher"]])  # signs nothing: fine
    with pytest.raises(ConfigurationError, match="CUSTODY_SEED"):
        check_signing_keys([BY_NAME["tx_monitor"]])


def test_a_mistyped_mnemonic_seed_is_refused_without_echoing_it(production) -> None:
    typo = "avoid mass luggage choice fabric argue gather cash brand thought elegant divine"
    production(CUSTODY_SEED=typo)
    with pytest.raises(ConfigurationError) as caught:
        check_custody_keys()
    assert "CUSTODY_SEED" in str(caught.value) and "luggage" not in str(caught.value)


def test_a_bad_xpub_is_refused_without_echoing_it(production) -> None:
    root = network.keys.bip32_seed(hd.seed_from_secret(STRONG_CUSTODY_SEED))
    private = root.subkey_for_path("44H/60H/0H/0").hwif(as_private=True)
    for value, reason in [(private, "PRIVATE"), (root.hwif(as_private=False), "depth"), ("xpub-nonsense", "not")]:
        production(CUSTODY_XPUB=value)
        with pytest.raises(ConfigurationError, match=reason) as caught:
            get_settings()
        assert "CUSTODY_XPUB" in str(caught.value) and value not in str(caught.value)

"""Production refuses weak secrets (naming the setting, never its value) and the sandbox payment provider on a chain
that is not a test chain."""

from __future__ import annotations

import pytest

from backend.chain.hd import account_xpub, seed_from_secret
from backend.settings import SANDBOX_TEST_CHAIN_IDS, ConfigurationError, get_settings
from tests.security.conftest import STRONG_CUSTODY_SEED


@pytest.mark.parametrize("setting", ["PRIMSELL_SECRET_KEY", "CUSTODY_SEED"])
@pytest.mark.parametrize("weak", [
    "short-but-random-Q7x",                      # < 32 bytes
    "a" * 64,                                    # one character
    "password" * 5,                              # a word repeated
    "abcabcabcabcabcabcabcabcabcabcabcabc",      # a short piece repeated
    "0101010101010101010101010101010101010101",  # too little variety
])
def test_production_refuses_a_weak_secret_and_names_the_setting_not_the_value(production, setting: str,
                                                                               weak: str) -> None:
    production(**{setting: weak})
    with pytest.raises(ConfigurationError) as caught:
        get_settings()
    message = str(caught.value)
    assert setting in message
    assert weak not in message and weak[:12] not in message


def test_production_takes_strong_secrets_and_a_mnemonic_seed(production) -> None:
    production()
    assert get_settings().is_production
    mnemonic = "avoid mass luggage choice fabric argue gather cash brand thought elegant divide"
    production(CUSTODY_SEED=mnemonic, CUSTODY_XPUB=account_xpub(seed_from_secret(mnemonic)))
    assert get_settings().require_secret("custody_seed") == mnemonic


@pytest.mark.parametrize("chain_id", [1, 10, 56, 137, 8453, 42161, 43114, 324, 59144])
def test_production_refuses_the_sandbox_on_a_mainnet(production, chain_id: int) -> None:
    production(PAYMENTS_PROVIDER="sandbox", STRIPE_API_KEY=None, CHAIN_ID=chain_id)
    with pytest.raises(ConfigurationError) as caught:
        get_settings()
    assert f"CHAIN_ID={chain_id}" in str(caught.value) and "sandbox" in str(caught.value)


def test_production_sandbox_needs_an_explicit_test_chain_id(production) -> None:
    production(PAYMENTS_PROVIDER="sandbox", STRIPE_API_KEY=None, CHAIN_ID=None)
    with pytest.raises(ConfigurationError, match="CHAIN_ID"):
        get_settings()


@pytest.mark.parametrize("chain_id", [31337, 11155111, 80002, 84532])
def test_production_sandbox_runs_on_a_test_chain(production, chain_id: int) -> None:
    assert chain_id in SANDBOX_TEST_CHAIN_IDS
    production(PAYMENTS_PROVIDER="sandbox", STRIPE_API_KEY=None, CHAIN_ID=chain_id)
    assert get_settings().payments_provider == "sandbox"


def test_stripe_in_production_is_not_limited_to_test_chains(production) -> None:
    production(CHAIN_ID=1)
    assert get_settings().chain_id == 1


def test_development_keeps_accepting_its_own_generated_secrets(configure) -> None:
    configure(PRIMSELL_ENV="development", CUSTODY_SEED=STRONG_CUSTODY_SEED, CHAIN_ID=1, PAYMENTS_PROVIDER="sandbox")
    assert get_settings().payments_provider == "sandbox"  # only production is held to it

"""Helpers for the security tests: a complete, valid production configuration to change one thing in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# Strong, random-looking values (never used anywhere real).
STRONG_SECRET_KEY = "Jk3v9Qm2Zt7Lw4Rb8Xs1Hn6Pd5Fy0Gc2Ve7Ua9Mq4Tz"
STRONG_CUSTODY_SEED = "q7Vd2Lk9Zr4Wm1Xb8Nt6Hs3Pf0Jc5Gy2Ue7Ra9Mw4Kz"
KYC_KEY = "q2Pj0yJ4bWtDxL5sN8vR1cF6hT9kZ3aE7uG0iY2wB4M="  # a Fernet key
PLATFORM_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.fixture
def production(configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`production(NAME=value, ...)`: PRIMSELL_ENV=production with every required setting valid, then overrides.
    A value of None removes the variable."""

    def apply(**overrides: object) -> None:
        from backend.chain.hd import account_xpub, seed_from_secret

        env: dict[str, object] = {
            "PRIMSELL_ENV": "production",
            "PRIMSELL_SECRET_KEY": STRONG_SECRET_KEY,
            "PLATFORM_SIGNER_KEY": PLATFORM_KEY,
            "CUSTODY_SEED": STRONG_CUSTODY_SEED,
            "CUSTODY_XPUB": account_xpub(seed_from_secret(STRONG_CUSTODY_SEED)),
            "STRIPE_API_KEY": "sk_test_security_tests_only",
            "STRIPE_WEBHOOK_SECRET": "whsec_security_tests_only",
            "SMTP_URL": "smtp://127.0.0.1:2525",
            "KYC_ENCRYPTION_KEY": KYC_KEY,
            "PAYMENTS_PROVIDER": "auto",
        }
        env.update(overrides)
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
        configure(**{k: v for k, v in env.items() if v is not None})  # also clears the settings cache

    return apply

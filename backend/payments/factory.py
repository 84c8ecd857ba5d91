"""Which payment provider this process uses: `get_provider()` (Stripe when configured, else the sandbox),
`set_provider()` to override it (tests, benchmarks) and `provider_name()`."""

from __future__ import annotations

from backend.payments.provider import PaymentProvider
from backend.payments.sandbox import SandboxProvider
from backend.payments.stripe_provider import StripeProvider
from backend.settings import get_settings

_override: PaymentProvider | None = None


def provider_name() -> str:
    settings = get_settings()
    if settings.payments_provider == "auto":
        key = settings.stripe_api_key
        return "stripe" if key is not None and key.get_secret_value() else "sandbox"
    return settings.payments_provider


def get_provider() -> PaymentProvider:
    """Stripe when configured (PAYMENTS_PROVIDER / STRIPE_API_KEY), else the sandbox."""
    if _override is not None:
        return _override
    if provider_name() == "stripe":
        return StripeProvider.from_settings()
    return SandboxProvider()


def set_provider(provider: PaymentProvider | None) -> None:
    """Use `provider` process-wide (tests, benchmarks); None goes back to the configured one."""
    global _override
    _override = provider

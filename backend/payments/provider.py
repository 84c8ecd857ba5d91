"""The PaymentProvider interface every checkout talks to, its value types and errors, and `get_provider()`.

Two implementations: StripeProvider (real Stripe, STRIPE_API_KEY) and SandboxProvider (embedded, no money).
Providers are called outside database transactions: they are the network step of the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from backend.errors import DomainError
from backend.settings import get_settings


# The provider's error code for a refund of a payment that is already refunded in full (Stripe's own code): the
# money is back with the buyer, so a caller can treat the refund as settled.
ALREADY_REFUNDED = "charge_already_refunded"


class PaymentProviderError(DomainError):
    """The payment provider refused or failed. `retryable` says whether trying again later may work.

    `code` stays this error's own code (the API's error body); the provider's code ("card_declined",
    ALREADY_REFUNDED, ...) is `provider_code`, "" when it gave none."""

    code = "payment_provider_error"
    status = 502

    def __init__(self, message: str, *, retryable: bool, kind: str = "error", provider_code: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        # "card", "rate_limited", "unavailable", "invalid_request", "idempotency", "auth", "error"
        self.kind = kind
        self.provider_code = provider_code


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount: int  # minor units
    currency: str  # ISO 4217, upper case as stored; providers send it lower case
    quantity: int
    description: str = ""
    image_url: str = ""


@dataclass(frozen=True)
class SessionRequest:
    """What a Checkout Session is created from; `idempotency_key` is derived from the order."""

    order_id: int
    order_public_id: str
    line_items: list[LineItem]
    success_url: str
    cancel_url: str
    customer_email: str
    expires_at: datetime
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def amount_total(self) -> int:
        return sum(item.unit_amount * item.quantity for item in self.line_items)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    amount_total: int | None
    currency: str | None
    payment_intent: str | None
    client_reference_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_event_object(self) -> dict[str, Any]:
        """The session in the shape a checkout.session.* event carries (used by reconciliation)."""
        return {
            "id": self.id, "object": "checkout.session", "status": self.status,
            "payment_status": self.payment_status, "amount_total": self.amount_total,
            "currency": self.currency, "payment_intent": self.payment_intent,
            "client_reference_id": self.client_reference_id, "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending | succeeded | failed | canceled | requires_action
    amount: int


class PaymentProvider(Protocol):
    name: str

    def create_session(self, request: SessionRequest) -> CheckoutSession: ...

    def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    def expire_session(self, session_id: str) -> CheckoutSession: ...

    def refund(self, payment_intent: str, amount: int, *, idempotency_key: str,
               metadata: dict[str, str] | None = None) -> RefundResult: ...

    def retrieve_refund(self, refund_id: str) -> RefundResult: ...


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
        from backend.payments.stripe_provider import StripeProvider

        return StripeProvider.from_settings()
    from backend.payments.sandbox import SandboxProvider

    return SandboxProvider()


def set_provider(provider: PaymentProvider | None) -> None:
    """Use `provider` process-wide (tests, benchmarks); None goes back to the configured one."""
    global _override
    _override = provider

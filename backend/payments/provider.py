"""The PaymentProvider interface every checkout talks to, its value types and errors.

Two implementations: StripeProvider (real Stripe, STRIPE_API_KEY) and SandboxProvider (embedded, no money);
`backend.payments.factory.get_provider()` picks the configured one. Providers are called outside database
transactions: they are the network step of the workflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from backend.errors import DomainError

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

    @property
    def unreachable(self) -> bool:
        """The provider was not reached, or asked us to come back later (rate limited, its own outage): retrying
        after a back-off is all there is to do, and such attempts do not spend a retry budget."""
        return self.retryable and self.kind in ("unavailable", "rate_limited")


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


@dataclass(frozen=True)
class ChargeRecord:
    """A payment the provider took (Stripe: a charge, read through its balance transaction; the sandbox: a paid
    session). Reconciliation ties these to orders by `payment_intent`."""

    id: str
    payment_intent: str | None
    amount: int  # minor units, in the charge's own currency
    currency: str  # ISO 4217, upper case
    created: datetime
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRecord:
    """A refund as the provider records it (whoever asked for it: Primsell or someone in the dashboard)."""

    id: str
    payment_intent: str | None
    amount: int
    currency: str  # ISO 4217, upper case
    status: str  # pending | succeeded | failed | canceled | requires_action
    created: datetime


class PaymentProvider(Protocol):
    name: str

    def create_session(self, request: SessionRequest) -> CheckoutSession: ...

    def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    def expire_session(self, session_id: str) -> CheckoutSession: ...

    def refund(self, payment_intent: str, amount: int, *, idempotency_key: str,
               metadata: dict[str, str] | None = None) -> RefundResult: ...

    def retrieve_refund(self, refund_id: str) -> RefundResult: ...

    def list_charges(self, since: datetime) -> Iterator[ChargeRecord]: ...

    def list_refunds(self, since: datetime) -> Iterator[RefundRecord]: ...

"""StripeProvider: Checkout Sessions, session retrieval and refunds through stripe-python's StripeClient (v1).

Every mutating call carries an idempotency key derived from our own rows, and the SDK retries (up to
`max_network_retries`) with that same key, so a retry never creates a second session or refund.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import stripe

from backend.payments.provider import CheckoutSession, PaymentProviderError, RefundResult, SessionRequest
from backend.settings import get_settings

T = TypeVar("T")
MAX_NETWORK_RETRIES = 2


class StripeProvider:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, *, api_key: str | None = None, api_base: str | None = None,
                      max_network_retries: int = MAX_NETWORK_RETRIES) -> StripeProvider:
        settings = get_settings()
        key = api_key or settings.require_secret("stripe_api_key")
        base = api_base if api_base is not None else settings.stripe_api_base
        return cls(stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.new_default_http_client(timeout=settings.stripe_timeout_s),
        ))

    # -- sessions ------------------------------------------------------------------------------------------------
    def create_session(self, request: SessionRequest) -> CheckoutSession:
        metadata = {"order_id": str(request.order_id), "order_public_id": request.order_public_id,
                    **request.metadata}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": item.currency.lower(),
                        "unit_amount": item.unit_amount,
                        "product_data": {
                            "name": item.name,
                            **({"description": item.description} if item.description else {}),
                            **({"images": [item.image_url]} if item.image_url.startswith("https://") else {}),
                        },
                    },
                    "quantity": item.quantity,
                }
                for item in request.line_items
            ],
            "client_reference_id": request.order_public_id,
            "customer_email": request.customer_email,
            "metadata": metadata,
            # Copied onto the PaymentIntent so that payment_intent.* events also name the order.
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
        }
        session = _call(lambda: self.client.v1.checkout.sessions.create(
            params, options={"idempotency_key": request.idempotency_key}))  # type: ignore[arg-type]
        return _session(session)

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        return _session(_call(lambda: self.client.v1.checkout.sessions.retrieve(session_id)))

    def expire_session(self, session_id: str) -> CheckoutSession:
        return _session(_call(lambda: self.client.v1.checkout.sessions.expire(
            session_id, options={"idempotency_key": f"expire:{session_id}"})))

    # -- refunds -------------------------------------------------------------------------------------------------
    def refund(self, payment_intent: str, amount: int, *, idempotency_key: str,
               metadata: dict[str, str] | None = None) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount}
        if metadata:
            params["metadata"] = metadata
        refund = _call(lambda: self.client.v1.refunds.create(
            params, options={"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        return _refund(refund, amount)

    def retrieve_refund(self, refund_id: str) -> RefundResult:
        return _refund(_call(lambda: self.client.v1.refunds.retrieve(refund_id)))


def _refund(stripe_obj: Any, amount: int = 0) -> RefundResult:
    data = stripe_obj.to_dict()
    return RefundResult(id=data["id"], status=str(data.get("status") or "pending"),
                        amount=int(data.get("amount") or amount))


def _session(stripe_obj: Any) -> CheckoutSession:
    obj = stripe_obj.to_dict()  # StripeObject is not a dict since v15
    payment_intent = obj.get("payment_intent")
    if payment_intent is not None and not isinstance(payment_intent, str):
        payment_intent = payment_intent.get("id")  # expanded
    return CheckoutSession(
        id=obj["id"],
        url=obj.get("url") or "",
        status=obj.get("status") or "open",
        payment_status=obj.get("payment_status") or "unpaid",
        amount_total=obj.get("amount_total"),
        currency=obj.get("currency"),
        payment_intent=payment_intent,
        client_reference_id=obj.get("client_reference_id"),
        metadata=dict(obj.get("metadata") or {}),
    )


def _call(fn: Callable[[], T]) -> T:
    """Run one SDK call; turn Stripe's errors into PaymentProviderError with a clear message."""
    try:
        return fn()
    except stripe.CardError as exc:
        raise PaymentProviderError(f"The card was declined: {exc.user_message or exc.code or 'no reason given'}.",
                                   retryable=False, kind="card", provider_code=exc.code or "") from exc
    except stripe.RateLimitError as exc:
        raise PaymentProviderError("Stripe is rate limiting us; try again in a moment.",
                                   retryable=True, kind="rate_limited") from exc
    except stripe.AuthenticationError as exc:
        raise PaymentProviderError("Stripe refused the API key (check STRIPE_API_KEY).",
                                   retryable=False, kind="auth") from exc
    except stripe.APIConnectionError as exc:
        raise PaymentProviderError("Stripe could not be reached; try again shortly.",
                                   retryable=True, kind="unavailable") from exc
    except stripe.InvalidRequestError as exc:
        raise PaymentProviderError(f"Stripe refused the request: {exc.user_message or str(exc)}",
                                   retryable=False, kind="invalid_request",
                                   provider_code=exc.code or "") from exc
    except stripe.APIError as exc:
        raise PaymentProviderError("Stripe had an internal error; try again shortly.",
                                   retryable=True, kind="unavailable") from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        raise PaymentProviderError(f"Stripe error: {exc.user_message or str(exc)}",
                                   retryable=status >= 500 or status == 409, kind="error") from exc

"""StripeProvider: Checkout Sessions, session retrieval and refunds through stripe-python's StripeClient (v1).

Every mutating call carries an idempotency key derived from our own rows, and the SDK retries (up to
`max_network_retries`) with that same key, so a retry never creates a second session or refund. What stripe-python
16 retries: connection errors and timeouts, 409 and 5xx answers, and whatever Stripe marks `Stripe-Should-Retry:
true`; NOT a 429 (unless so marked) and no other 4xx. Whatever is left is a PaymentProviderError saying whether
trying again later may work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import stripe

from backend.payments.provider import (
    ALREADY_REFUNDED,
    ChargeRecord,
    CheckoutSession,
    PaymentProviderError,
    RefundRecord,
    RefundResult,
    SessionRequest,
)
from backend.settings import get_settings

T = TypeVar("T")
MAX_NETWORK_RETRIES = 2
LIST_PAGE_SIZE = 100  # Stripe's largest page
# Balance transaction types that are money taken from a buyer (`payment`: some payment methods report it so).
CHARGE_TYPES = frozenset({"charge", "payment"})
# Stripe accepts a Checkout Session's expires_at from 30 minutes to 24 hours after it creates the session. The
# margins cover clock skew and the SDK resending the same body (same expires_at) a little later.
SESSION_MIN_LIFETIME_S = 30 * 60 + 120
SESSION_MAX_LIFETIME_S = 24 * 60 * 60 - 120


class StripeProvider:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, *, api_key: str | None = None, api_base: str | None = None,
                      max_network_retries: int = MAX_NETWORK_RETRIES,
                      timeout_s: float | None = None) -> StripeProvider:
        """The configured client. `timeout_s` (default STRIPE_TIMEOUT_SECONDS) is each attempt's connect and read
        timeout: a Stripe that does not answer holds a call about (1 + max_network_retries) * timeout_s."""
        settings = get_settings()
        key = api_key or settings.require_secret("stripe_api_key")
        base = api_base if api_base is not None else settings.stripe_api_base
        return cls(stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.new_default_http_client(
                timeout=timeout_s if timeout_s is not None else settings.stripe_timeout_s),
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
            "expires_at": session_expires_at(request.expires_at),
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

    # -- reconciliation ------------------------------------------------------------------------------------------
    def list_charges(self, since: datetime) -> Iterator[ChargeRecord]:
        """Charges from the balance transactions created since `since` (what reached the account), each with its
        charge expanded: the charge's own amount and currency (a balance transaction's are converted into the
        account's currency) and its payment intent."""
        params: dict[str, Any] = {"created": {"gte": int(since.timestamp())}, "limit": LIST_PAGE_SIZE,
                                  "expand": ["data.source"]}
        for txn in _pages(lambda: self.client.v1.balance_transactions.list(params)):  # type: ignore[arg-type]
            data = txn.to_dict()
            source = data.get("source")
            if data.get("type") not in CHARGE_TYPES or not isinstance(source, dict):
                continue
            payment_intent = source.get("payment_intent")
            if payment_intent is not None and not isinstance(payment_intent, str):
                payment_intent = payment_intent.get("id")
            yield ChargeRecord(
                id=str(source["id"]), payment_intent=payment_intent, amount=int(source.get("amount") or 0),
                currency=str(source.get("currency") or data.get("currency") or "").upper(),
                created=_time(source.get("created") or data.get("created")),
                metadata={str(k): str(v) for k, v in (source.get("metadata") or {}).items()})

    def list_refunds(self, since: datetime) -> Iterator[RefundRecord]:
        """Every refund created since `since`, whatever its status and whoever made it."""
        params: dict[str, Any] = {"created": {"gte": int(since.timestamp())}, "limit": LIST_PAGE_SIZE}
        for refund in _pages(lambda: self.client.v1.refunds.list(params)):  # type: ignore[arg-type]
            data = refund.to_dict()
            payment_intent = data.get("payment_intent")
            if payment_intent is not None and not isinstance(payment_intent, str):
                payment_intent = payment_intent.get("id")
            yield RefundRecord(id=str(data["id"]), payment_intent=payment_intent, amount=int(data.get("amount") or 0),
                               currency=str(data.get("currency") or "").upper(),
                               status=str(data.get("status") or "pending"), created=_time(data.get("created")))


def session_expires_at(wanted: datetime, now: float | None = None) -> int:
    """`wanted` as a Unix time, moved into the window Stripe accepts (an order that lives longer than 24 hours gets
    a session that expires first; a shorter one gets a session upkeep expires when the order does)."""
    now = time.time() if now is None else now
    return int(min(max(wanted.timestamp(), now + SESSION_MIN_LIFETIME_S), now + SESSION_MAX_LIFETIME_S))


def _pages(first: Callable[[], Any]) -> Iterator[Any]:
    """Every object of a Stripe list, page after page (`starting_after` the last id while `has_more`); each page's
    request goes through `_call`, so a failure on page 7 is the same PaymentProviderError as on page 1."""
    iterator = iter(_call(first).auto_paging_iter())
    while (item := _call(lambda: next(iterator, _DONE))) is not _DONE:
        yield item


_DONE = object()


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value or 0), UTC)


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
    """Run one SDK call; turn Stripe's errors and network failures into PaymentProviderError with a clear message
    and Stripe's error code (`provider_code`)."""
    try:
        return fn()
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        refused = _key_refused(exc)  # raised outside this block: not chained, see _key_refused
    except stripe.StripeError as exc:
        raise _provider_error(exc) from exc
    raise refused


def _key_refused(exc: stripe.StripeError) -> PaymentProviderError:
    """The key was refused (401) or may not do this (403). Stripe's own answer quotes the key (masked by Stripe);
    it is neither copied nor chained, so no traceback or error report can carry it. The request id is enough to
    look the call up in Stripe's dashboard."""
    request = f"; Stripe request {exc.request_id}" if exc.request_id else ""
    if isinstance(exc, stripe.AuthenticationError):
        message = f"Stripe refused the API key (check STRIPE_API_KEY{request})."
    else:
        message = f"The Stripe API key may not make this request (a restricted key?{request})."
    return PaymentProviderError(message, retryable=False, kind="auth", provider_code=_code(exc))


def _provider_error(exc: stripe.StripeError) -> PaymentProviderError:
    code = _code(exc)
    said = (exc.user_message or "").strip().rstrip(".")  # Stripe's own sentence; ours end it
    if code == ALREADY_REFUNDED:
        return PaymentProviderError(f"Stripe says the payment is already refunded in full: {said or code}.",
                                    retryable=False, kind="invalid_request", provider_code=code)
    if isinstance(exc, stripe.CardError):
        return PaymentProviderError(f"The card was declined: {said or code or 'no reason given'}.",
                                    retryable=False, kind="card", provider_code=code)
    if isinstance(exc, stripe.RateLimitError):
        return PaymentProviderError("Stripe is rate limiting us; try again in a moment.",
                                    retryable=True, kind="rate_limited", provider_code=code)
    if _error_type(exc) == "idempotency_error" or isinstance(exc, stripe.IdempotencyError):
        # 400 (or 409) when a key is reused with other parameters: the same request can never succeed. A 409
        # "idempotency_key_in_use" only means the first request with this key is still running at Stripe.
        if code == "idempotency_key_in_use":
            return PaymentProviderError("Stripe is still working on an earlier attempt of this request; "
                                        "try again in a moment.", retryable=True, kind="unavailable",
                                        provider_code=code)
        return PaymentProviderError("Stripe refused the request: its idempotency key was already used with "
                                    "different parameters, so it cannot be sent again as it is.",
                                    retryable=False, kind="idempotency", provider_code=code)
    if isinstance(exc, stripe.APIConnectionError):
        # Connection refused, reset, or no answer within the timeout (the SDK retried it already). After a
        # timeout Stripe may have done the work: a retry with the same key returns that result.
        return PaymentProviderError("Stripe could not be reached or did not answer in time; try again shortly.",
                                    retryable=True, kind="unavailable", provider_code=code)
    if isinstance(exc, stripe.InvalidRequestError):
        return PaymentProviderError(f"Stripe refused the request: {said or code or 'no reason given'}.",
                                    retryable=False, kind="invalid_request", provider_code=code)
    if isinstance(exc, stripe.APIError):  # 5xx, and 409 conflicts: the SDK retried them already
        return PaymentProviderError("Stripe had an internal error; try again shortly.",
                                    retryable=True, kind="unavailable", provider_code=code)
    status = exc.http_status or 0
    return PaymentProviderError(f"Stripe error: {said or code or type(exc).__name__}.",
                                retryable=status >= 500 or status == 409, kind="error", provider_code=code)


def _error_type(exc: stripe.StripeError) -> str:
    return str(getattr(exc.error, "type", None) or "")


def _code(exc: stripe.StripeError) -> str:
    """Stripe's error code ("card_declined", "charge_already_refunded", ...): the SDK sets `exc.code` only on card
    and invalid-request errors; the others carry it in the parsed error object."""
    return str(exc.code or getattr(exc.error, "code", None) or "")

"""Errors the checkout and order services raise; each message tells the buyer or admin what to do."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, RateLimited


class SoldOut(Conflict):
    code = "sold_out"


class WalletCapReached(Conflict):
    code = "wallet_cap_reached"


class NotOnSale(Conflict):
    code = "not_on_sale"


class ReservationLimitReached(Conflict):
    """The buyer (their email, or their network) already holds as many unpaid reservations as one may: 409, since
    paying for one of them, or its expiry, lets them order again (the message says by when)."""

    code = "reservation_limit_reached"


class CheckoutRateLimited(RateLimited):
    """Too many attempts to create an order in a while: 429 with Retry-After; the message says whose limit it is."""

    def __init__(self, retry_after_s: int, message: str) -> None:
        super().__init__(retry_after_s)
        self.message = message
        self.args = (message,)


class PaymentUnavailable(DomainError):
    """The payment provider could not start a payment; nothing was charged and the reservation is released."""

    code = "payment_unavailable"
    status = 503


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"


class PaymentMismatch(Exception):
    """The provider reported a different amount or currency than the order's (logged, never fulfilled)."""

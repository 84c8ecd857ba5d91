"""Errors the checkout and order services raise; each message tells the buyer or admin what to do."""

from __future__ import annotations

from backend.errors import Conflict, DomainError


class SoldOut(Conflict):
    code = "sold_out"


class WalletCapReached(Conflict):
    code = "wallet_cap_reached"


class NotOnSale(Conflict):
    code = "not_on_sale"


class PaymentUnavailable(DomainError):
    """The payment provider could not start a payment; nothing was charged and the reservation is released."""

    code = "payment_unavailable"
    status = 503


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"


class PaymentMismatch(Exception):
    """The provider reported a different amount or currency than the order's (logged, never fulfilled)."""

"""Stripe's webhook signature scheme (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>`):
used by the sandbox to sign the events it sends; verification goes through stripe-python itself."""

from __future__ import annotations

import hashlib
import hmac
import time

from backend.settings import get_settings


def webhook_secret() -> str:
    return get_settings().require_secret("stripe_webhook_secret")


def sign(payload: bytes, secret: str | None = None, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for `payload` (exact bytes, as sent)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new((secret or webhook_secret()).encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"

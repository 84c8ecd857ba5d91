"""QR codes of perks: a short signed payload the holder shows at the counter.

    R1.<reward id>.<token id>.<holder address, 40 hex>.<expires, unix s>.<nonce>.<signature>

The signature is HMAC-SHA256 (truncated to 128 bits) under a key derived from PRIMSELL_SECRET_KEY, over everything
before it: changing any field breaks it. The code binds the holder who asked for it: at the counter the token must
still belong to that address, so another holder's code (or one shown after the token was sold) fails; it expires
about a minute after it was drawn (the page draws a fresh one before), so a screenshot replayed later fails; and its
nonce is unique among redemptions, so one code redeems once. ~100 ASCII characters: a version 6-7 QR code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

from backend.settings import get_settings

VERSION = "R1"
_SIG_BYTES = 16


@dataclass(frozen=True)
class RewardCode:
    reward_id: int
    token_id: int
    holder: str  # checksummed address
    expires_at: int  # unix seconds
    nonce: str


class BadCode(ValueError):
    """Not a reward code of ours: garbled, altered or signed with another key."""


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"primsell:reward-qr:v1", hashlib.sha256).digest()


def _sign(body: str) -> str:
    settings = get_settings()
    key = _key(settings.secret_key.get_secret_value() if settings.secret_key else "")
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def encode(reward_id: int, token_id: int, holder: str, expires_at: int, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_urlsafe(9)  # 12 characters, 72 bits
    body = f"{VERSION}.{reward_id}.{token_id}.{holder[2:].lower()}.{expires_at}.{nonce}"
    return f"{body}.{_sign(body)}"


def decode(text: str) -> RewardCode:
    """The code's fields once its signature checks out; BadCode otherwise (nothing of it is to be trusted)."""
    from eth_utils import to_checksum_address

    text = text.strip()
    if len(text) > 200:
        raise BadCode("too long")
    parts = text.split(".")
    if len(parts) != 7 or parts[0] != VERSION:
        raise BadCode("not a reward code")
    body, signature = text.rsplit(".", 1)
    if not hmac.compare_digest(signature.encode(), _sign(body).encode()):
        raise BadCode("bad signature")
    _, reward_id, token_id, holder, expires_at, nonce = body.split(".")
    try:
        return RewardCode(int(reward_id), int(token_id), to_checksum_address("0x" + holder), int(expires_at), nonce)
    except ValueError as exc:  # cannot happen for a code we signed; kept for key reuse across versions
        raise BadCode("malformed") from exc

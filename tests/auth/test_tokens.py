"""JWT access tokens: round trip, expiry, tampering, wrong secret/audience/issuer/type, missing claims, alg=none."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from backend.auth.tokens import (
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    decode_access_token,
    issue_access_token,
    new_opaque_token,
    token_digest,
)
from backend.errors import NotAuthenticated

SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"


def _claims(**overrides: object) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "sub": "7", "sid": "s" * 32, "iat": now, "nbf": now, "exp": now + 600,
        "iss": ISSUER, "aud": AUDIENCE, "typ": "access", "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_round_trip_returns_user_session_and_expiry():
    issued_at = datetime.now(UTC).replace(microsecond=0)
    token = issue_access_token(42, "abc123", secret=SECRET, ttl_s=900, now=issued_at)
    claims = decode_access_token(token, secret=SECRET)
    assert claims.user_id == 42
    assert claims.session_id == "abc123"
    assert claims.expires_at == issued_at + timedelta(seconds=900)
    assert claims.expires_at.utcoffset() == timedelta(0)


def test_expired_token_is_refused_with_an_expiry_message():
    token = issue_access_token(1, "sid", secret=SECRET, ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(NotAuthenticated, match="expired"):
        decode_access_token(token, secret=SECRET)


def test_token_signed_with_another_secret_is_refused():
    token = issue_access_token(1, "sid", secret="another-secret-entirely-0123456789abcdef", ttl_s=60)
    with pytest.raises(NotAuthenticated, match="Invalid access token"):
        decode_access_token(token, secret=SECRET)


def test_tampered_signature_is_refused():
    token = issue_access_token(1, "sid", secret=SECRET, ttl_s=60)
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(NotAuthenticated):
        decode_access_token(f"{header}.{payload}.{flipped}", secret=SECRET)


def test_tampered_payload_is_refused():
    token = issue_access_token(1, "sid", secret=SECRET, ttl_s=60)
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "2"  # become another user
    with pytest.raises(NotAuthenticated):
        decode_access_token(f"{header}.{_b64(claims)}.{signature}", secret=SECRET)


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "someone-else"}, {"iss": "not-primsell"}, {"typ": "refresh"}, {"typ": None}, {"sub": "not-a-number"}],
    ids=["wrong-audience", "wrong-issuer", "wrong-type", "no-type", "non-numeric-subject"],
)
def test_correctly_signed_token_with_wrong_claims_is_refused(overrides: dict[str, object]):
    token = jwt.encode(_claims(**overrides), SECRET, algorithm=ALGORITHM)
    with pytest.raises(NotAuthenticated, match="Invalid access token"):
        decode_access_token(token, secret=SECRET)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "sid", "aud", "iss"])
def test_token_missing_a_required_claim_is_refused(missing: str):
    token = jwt.encode(_claims(**{missing: None}), SECRET, algorithm=ALGORITHM)
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, secret=SECRET)


def test_token_not_yet_valid_is_refused():
    future = int(datetime.now(UTC).timestamp()) + 3600
    token = jwt.encode(_claims(nbf=future, iat=future, exp=future + 600), SECRET, algorithm=ALGORITHM)
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, secret=SECRET)


def test_unsigned_alg_none_token_is_refused():
    token = jwt.encode(_claims(), None, algorithm="none")
    assert token.endswith(".")  # really unsigned
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, secret=SECRET)


def test_handcrafted_alg_none_header_over_valid_claims_is_refused():
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, secret=SECRET)


def test_other_hmac_algorithm_with_the_right_secret_is_refused():
    long_secret = SECRET * 2  # long enough for HS512, so only the algorithm is wrong
    token = jwt.encode(_claims(), long_secret, algorithm="HS512")
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, secret=long_secret)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "...."])
def test_garbage_is_refused_as_not_authenticated(garbage: str):
    with pytest.raises(NotAuthenticated):
        decode_access_token(garbage, secret=SECRET)


def test_opaque_tokens_are_random_and_stored_only_as_sha256():
    first, second = new_opaque_token(), new_opaque_token()
    assert first != second and len(first) >= 40
    digest = token_digest(first)
    assert len(digest) == 64 and first not in digest
    assert digest == token_digest(first)

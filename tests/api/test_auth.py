"""The API's sign-in: tokens, rotation, sign-out, bearer authentication, /me, rate limits and the web cookie."""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import jwt
import pytest
from sqlalchemy import update

from backend.auth import ratelimit
from backend.auth.acl import Permission, Role
from backend.auth.models import RefreshToken
from backend.auth.service import WEB_SESSION_COOKIE, actor_for_web_session, begin_web_sign_in
from backend.auth.tokens import issue_access_token
from backend.db import session_scope, utcnow
from tests.api.conftest import bearer, login_tokens
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_brand, make_user


def test_login_returns_a_working_token_pair(client):
    brand = make_brand()
    actor = make_user(Role.BRAND_ADMIN, brand, email="ada@example.com")

    response = client.post("/api/v1/auth/login", json={"email": "  ADA@example.com ", "password": PASSWORD})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == actor.user_id
    assert me.json()["email"] == "ada@example.com"


def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    make_user(email="ada@example.com")

    wrong = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope-nope-nope-1"})
    unknown = client.post("/api/v1/auth/login", json={"email": "who@example.com", "password": "nope-nope-nope-1"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "not_authenticated"
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_me_lists_roles_and_permissions_per_brand(client, auth):
    brand = make_brand()
    staff = make_user(Role.BRAND_STAFF, brand)

    body = client.get("/api/v1/me", headers=auth(staff)).json()

    assert body["is_platform_admin"] is False
    [grant] = body["roles"]
    assert grant["brand_id"] == brand.id and grant["role"] == "brand_staff"
    assert Permission.CAMPAIGN_READ.value in grant["permissions"]
    assert Permission.CAMPAIGN_WRITE.value not in grant["permissions"]


def test_me_of_a_platform_admin_has_a_platform_wide_grant(client, auth):
    admin = make_user(Role.PLATFORM_ADMIN)

    body = client.get("/api/v1/me", headers=auth(admin)).json()

    assert body["is_platform_admin"] is True
    assert body["roles"][0]["brand_id"] is None
    assert set(body["roles"][0]["permissions"]) == {p.value for p in Permission}


def test_refresh_rotates_and_the_old_refresh_token_then_revokes_the_family(client):
    actor = make_user()
    first = login_tokens(client, actor.email)

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "used twice" in replay.json()["error"]["message"]
    # The whole family is gone: the newest refresh token and the access tokens too.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 401


def test_refresh_with_an_unknown_token_is_refused(client):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_logout_ends_the_session(client):
    actor = make_user()
    tokens = login_tokens(client, actor.email)

    response = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 204 and response.content == b""
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def _session_id(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


def test_expired_access_token_is_refused(client):
    actor = make_user()
    tokens = login_tokens(client, actor.email)
    expired = issue_access_token(
        actor.user_id, _session_id(tokens["access_token"]), secret=TEST_SECRET, ttl_s=60,
        now=utcnow() - timedelta(hours=1),
    )

    response = client.get("/api/v1/me", headers=bearer(expired))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "expired" in response.json()["error"]["message"]


@pytest.mark.parametrize("tamper", ["signature", "other_secret", "alg_none", "garbage"])
def test_tampered_access_token_is_refused(client, tamper):
    actor = make_user()
    token = login_tokens(client, actor.email)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    if tamper == "signature":
        head, payload, signature = token.split(".")
        token = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    elif tamper == "other_secret":
        token = jwt.encode(claims | {"sub": str(actor.user_id)}, "another-secret-of-sufficient-length-000", "HS256")
    elif tamper == "alg_none":
        token = jwt.encode(claims, None, algorithm="none")
    else:
        token = "not.a.jwt"

    response = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}])
def test_missing_or_non_bearer_credentials_get_401(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_refresh_token_is_not_an_access_token(client):
    actor = make_user()
    tokens = login_tokens(client, actor.email)
    assert client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])).status_code == 401


# --- rate limits ------------------------------------------------------------------------------------


def _assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


def test_login_is_throttled_per_account(client, configure, monkeypatch):
    configure(LOGIN_BACKOFF_AFTER_FAILURES=2, RATE_LIMIT_LOGIN_PER_IP="100/minute")
    # The back-off's clock stands still: the 1 s wait must not run out during a slow argon2 check on a busy machine.
    frozen = time.time()
    monkeypatch.setattr(ratelimit, "clock", lambda: frozen)
    make_user(email="ada@example.com")
    wrong = {"email": "ada@example.com", "password": "wrong-password-123"}

    assert [client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(2)] == [401, 401]
    # Even the right password is refused while the account is throttled.
    _assert_throttled(client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}))
    # Another account from the same address is unaffected.
    other = make_user(email="bob@example.com")
    assert client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD}).status_code == 200


def test_login_is_throttled_per_ip_whatever_x_forwarded_for_claims(client, configure):
    configure(RATE_LIMIT_LOGIN_PER_IP="3/minute")
    for n in range(3):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": f"user{n}@example.com", "password": "wrong-password-123"},
            headers={"X-Forwarded-For": f"10.0.0.{n}"},
        )
        assert response.status_code == 401
    _assert_throttled(
        client.post(
            "/api/v1/auth/login",
            json={"email": "user9@example.com", "password": "wrong-password-123"},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
    )


def test_api_calls_are_throttled_per_ip(client, configure):
    configure(RATE_LIMIT_API_PER_IP="3/minute")
    for _ in range(3):
        assert client.get("/api/v1/public/campaigns/nothing-here").status_code == 404
    _assert_throttled(client.get("/api/v1/public/campaigns/nothing-here"))
    # The health check stays reachable for the load balancer.
    assert client.get("/api/health").status_code == 200


def test_api_calls_are_throttled_per_account(client, configure, auth):
    configure(RATE_LIMIT_API_PER_ACCOUNT="2/minute", RATE_LIMIT_API_PER_IP="100/minute")
    ada, bob = make_user(), make_user()
    ada_headers, bob_headers = auth(ada), auth(bob)

    assert [client.get("/api/v1/me", headers=ada_headers).status_code for _ in range(2)] == [200, 200]
    _assert_throttled(client.get("/api/v1/me", headers=ada_headers))
    assert client.get("/api/v1/me", headers=bob_headers).status_code == 200


def test_refresh_is_throttled_per_ip(client, configure):
    configure(RATE_LIMIT_REFRESH_PER_IP="2/minute")
    for _ in range(2):
        assert client.post("/api/v1/auth/refresh", json={"refresh_token": "unknown"}).status_code == 401
    _assert_throttled(client.post("/api/v1/auth/refresh", json={"refresh_token": "unknown"}))


# --- web session cookie -----------------------------------------------------------------------------


def _set_cookie(response) -> str:
    [header] = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    return header


def _start_web_session(client, email: str):
    code = begin_web_sign_in(email, PASSWORD, ip="testclient")
    return client.post("/api/v1/auth/web/session", json={"code": code}), code


def test_web_session_code_becomes_an_httponly_cookie(client):
    actor = make_user()

    response, _ = _start_web_session(client, actor.email)

    assert response.status_code == 204
    cookie = _set_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith(f"{WEB_SESSION_COOKIE}=")
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # the default public URL is plain http
    expires = parsedate_to_datetime(next(a for a in cookie.split(";") if a.strip().lower().startswith("expires="))
                                    .split("=", 1)[1])
    assert expires > utcnow() + timedelta(days=1)
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert actor_for_web_session(value).user_id == actor.user_id


def test_web_session_cookie_is_secure_behind_https(client, configure):
    configure(PRIMSELL_PUBLIC_URL="https://shop.example.com")
    actor = make_user()

    response, _ = _start_web_session(client, actor.email)

    assert "secure" in [part.strip().lower() for part in _set_cookie(response).split(";")]


def test_web_session_code_works_once(client):
    actor = make_user()
    first, code = _start_web_session(client, actor.email)
    assert first.status_code == 204

    again = client.post("/api/v1/auth/web/session", json={"code": code})

    assert again.status_code == 401
    assert "set-cookie" not in again.headers


def test_web_session_endpoints_require_json(client):
    actor = make_user()
    code = begin_web_sign_in(actor.email, PASSWORD, ip="testclient")

    # What a cross-site HTML form would send.
    form = client.post("/api/v1/auth/web/session", data={"code": code})

    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    assert client.post("/api/v1/auth/web/session", json={"code": code}).status_code == 204  # code still unused


def test_web_session_refuses_a_cross_site_origin(client):
    actor = make_user()
    code = begin_web_sign_in(actor.email, PASSWORD, ip="testclient")

    response = client.post("/api/v1/auth/web/session", json={"code": code}, headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    same_site = client.post(
        "/api/v1/auth/web/session", json={"code": code}, headers={"Origin": "http://localhost:3000"}
    )
    assert same_site.status_code == 204


def test_web_logout_clears_the_cookie_and_ends_the_session(client):
    actor = make_user()
    started, _ = _start_web_session(client, actor.email)
    value = started.cookies[WEB_SESSION_COOKIE]

    # A form post (no JSON content type) cannot sign someone out behind their back.
    refused = client.post("/api/v1/auth/web/logout", content=b"", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
    assert actor_for_web_session(value) is not None

    response = client.post("/api/v1/auth/web/logout", json={})

    assert response.status_code == 204
    cookie = _set_cookie(response).lower()
    assert cookie.startswith(f"{WEB_SESSION_COOKIE}=") and "max-age=0" in cookie
    assert actor_for_web_session(value) is None
    assert WEB_SESSION_COOKIE not in client.cookies


def test_web_cookie_and_api_refresh_token_are_not_interchangeable(client):
    actor = make_user()
    started, _ = _start_web_session(client, actor.email)
    cookie = started.cookies[WEB_SESSION_COOKIE]
    refused = client.post("/api/v1/auth/refresh", json={"refresh_token": cookie})
    assert refused.status_code == 401
    assert actor_for_web_session(cookie) is not None  # and the web session was not revoked as a "reuse"

    api = login_tokens(client, actor.email)
    client.cookies.set(WEB_SESSION_COOKIE, api["refresh_token"])
    assert client.post("/api/v1/auth/web/rotate", json={}).headers.get("set-cookie") is None
    assert client.post("/api/v1/auth/web/logout", json={}).status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": api["refresh_token"]}).status_code == 200


def test_web_rotate_sets_a_new_cookie_and_the_old_one_stops_after_the_grace(client):
    actor = make_user()
    started, _ = _start_web_session(client, actor.email)
    old = started.cookies[WEB_SESSION_COOKIE]

    response = client.post("/api/v1/auth/web/rotate", json={})

    assert response.status_code == 204
    new = response.cookies[WEB_SESSION_COOKIE]
    assert new != old and "httponly" in _set_cookie(response).lower()
    assert actor_for_web_session(new).user_id == actor.user_id  # type: ignore[union-attr]
    with session_scope() as session:
        session.exec(update(RefreshToken).where(RefreshToken.rotated_at.is_not(None))  # type: ignore[union-attr]
                     .values(rotated_at=utcnow() - timedelta(minutes=2)))
    assert actor_for_web_session(old) is None
    client.cookies.set(WEB_SESSION_COOKIE, old)
    assert "set-cookie" not in client.post("/api/v1/auth/web/rotate", json={}).headers  # nothing to rotate
    assert client.post("/api/v1/auth/web/rotate", json={}, headers={"Origin": "https://evil.example"}).status_code \
        == 403

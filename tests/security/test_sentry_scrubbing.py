"""What reaches Sentry: no frame variables, no request bodies, no cookies, and no password, token or secret in any
text. Checked on the envelope a capturing Transport receives from a real failing sign-in over HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
import sentry_sdk
from fastapi.testclient import TestClient
from sentry_sdk.transport import Transport
from sentry_sdk.utils import event_from_exception
from sqlmodel import select

from backend.api.app import create_api
from backend.auth.models import User
from backend.db import session_scope
from backend.monitoring.sentry import _before_send, init_sentry
from tests.factories import make_user

PASSWORD = "Hunter2-Sentry-Leak-Check-77"


class CapturingTransport(Transport):
    def __init__(self, options=None):  # type: ignore[no-untyped-def]
        super().__init__(options)
        self.envelopes: list = []

    def capture_envelope(self, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)

    def raw(self) -> str:
        return "\n".join(item.get_bytes().decode("utf-8", "replace") for env in self.envelopes for item in env.items)

    def events(self) -> list[dict]:
        return [item.payload.json for env in self.envelopes for item in env.items if item.type == "event"]


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    assert init_sentry("https://public@sentry.example.invalid/1", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def _break_password_hash(email: str) -> None:
    """A hash passlib cannot read: verifying against it raises inside the sign-in path, password in hand."""
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        user.password_hash = "$corrupted$not-a-hash"
        session.add(user)


def test_a_failing_sign_in_reaches_sentry_without_the_password(sentry: CapturingTransport) -> None:
    user = make_user(email="leak-check@example.com")
    _break_password_hash(user.email)
    with TestClient(create_api(), raise_server_exceptions=False) as client:
        answer = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD},
                             headers={"Authorization": "Bearer secret-bearer-token-123",
                                      "Cookie": "primsell_session=secret-cookie-value-456"})
    assert answer.status_code == 500
    sentry_sdk.flush()
    events = sentry.events()
    assert events, "the failure reached Sentry"
    assert any(value.get("type") == "UnknownHashError" for event in events
               for value in event.get("exception", {}).get("values", []))
    raw = sentry.raw()
    for leaked in (PASSWORD, "secret-bearer-token-123", "secret-cookie-value-456", "leak-check@example.com"):
        assert leaked not in raw
    for event in events:
        for value in event.get("exception", {}).get("values", []):
            for frame in (value.get("stacktrace") or {}).get("frames", []):
                assert "vars" not in frame  # no local variables at all


def _event_with_locals() -> dict:
    """A real Sentry event WITH frame variables (as a client configured with include_local_variables=True makes)."""
    password = PASSWORD  # noqa: F841 - a local the event would carry
    api_key = "sk_live_from_a_local_variable"  # noqa: F841
    refresh_token = "rt-from-a-local-variable"  # noqa: F841
    order_id = 42  # noqa: F841
    try:
        raise RuntimeError(f"login failed for password={PASSWORD} token=abcdef0123456789abcdef0123456789")
    except RuntimeError:
        event, _hint = event_from_exception(sys.exc_info(), client_options={
            "include_local_variables": True, "include_source_context": False, "max_value_length": 1024,
            "in_app_include": [], "in_app_exclude": [], "project_root": None, "add_full_stack": False,
            "max_stack_frames": 100})
    event["request"] = {"url": "http://localhost:3000/api/v1/auth/login", "data": {"password": PASSWORD},
                        "cookies": {"primsell_session": "c"}, "query_string": "token=query-token-value-789",
                        "headers": {"Authorization": "Bearer x", "X-Api-Key": "k"}}
    event["breadcrumbs"] = {"values": [{"message": f"signing in with password={PASSWORD}", "data": {"secret": "s"}}]}
    event["extra"] = {"session_secret": "extra-secret", "order_id": 42}
    return event


def test_the_scrubber_strips_sensitive_frame_variables_bodies_and_texts() -> None:
    event = _before_send(_event_with_locals(), {})
    text = json.dumps(event)
    for leaked in (PASSWORD, "sk_live_from_a_local_variable", "rt-from-a-local-variable", "query-token-value-789",
                   "abcdef0123456789abcdef0123456789", "extra-secret"):
        assert leaked not in text
    assert "data" not in event["request"] and "cookies" not in event["request"]
    frames = [f for v in event["exception"]["values"] for f in v["stacktrace"]["frames"]]
    local_vars = next(f["vars"] for f in frames if "order_id" in f.get("vars", {}))
    assert local_vars["order_id"] == "42" or local_vars["order_id"] == 42  # harmless variables stay readable
    assert local_vars["password"] == local_vars["api_key"] == local_vars["refresh_token"] == "[redacted]"

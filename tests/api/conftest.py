"""Fixtures for the HTTP API tests: the real app in a TestClient, signed-in callers, and adjustable limits.

Every response any API test receives is checked for leaked secrets: the test password and every stored
password or token hash must never appear in a body or a header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from backend.api.app import create_api
from backend.auth.acl import Actor
from backend.auth.models import Invitation, LoginGrant, RefreshToken, User
from backend.db import session_scope
from tests.factories import PASSWORD


class RecordingClient(TestClient):
    """A TestClient that keeps every response so the leak check can read them after the test."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responses: list[httpx.Response] = []

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        self.responses.append(response)
        return response


def _stored_secrets() -> list[str]:
    with session_scope() as session:
        found = [h for h in session.exec(select(User.password_hash)).all() if h]
        found += list(session.exec(select(RefreshToken.token_hash)).all())
        found += list(session.exec(select(LoginGrant.code_hash)).all())
        found += list(session.exec(select(Invitation.token_hash)).all())
    return found


@pytest.fixture
def client() -> Iterator[RecordingClient]:
    with RecordingClient(create_api()) as test_client:
        yield test_client
    secrets = [PASSWORD, *_stored_secrets()]
    for response in test_client.responses:
        exposed = response.text + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in secrets:
            assert secret not in exposed, f"{response.request.method} {response.request.url} leaked a secret"


def login_tokens(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(client: TestClient) -> Callable[[Actor], dict[str, str]]:
    """Sign an actor in through the API and return the headers that authenticate as them."""

    def _headers(actor: Actor) -> dict[str, str]:
        return bearer(login_tokens(client, actor.email)["access_token"])

    return _headers

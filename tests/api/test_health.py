"""`/api/health` and the API documentation."""

from __future__ import annotations

import pytest

from backend import db
from backend.api.routes import health
from backend.db import build_engine


def test_health_reports_ok(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "version")} == {
        "status": "ok", "database": "ok", "version": health.app_version()}
    # No runner has beaten in this test database: reported, without failing the web process's health.
    assert body["scheduler"] == {"healthy": False, "runners": 0, "last_beat_at": None, "age_s": None}


def test_health_reports_a_live_scheduler_heartbeat(client):
    from backend.db import utcnow
    from jobs.scheduler import beat

    beat("runner-under-test", utcnow())
    scheduler = client.get("/api/health").json()["scheduler"]
    assert scheduler["healthy"] is True
    assert scheduler["runners"] == 1
    assert scheduler["age_s"] is not None and scheduler["age_s"] < 30


@pytest.fixture
def database_down():
    # A real engine pointed at a port where nothing listens: the check must see a refused connection.
    db.set_engine(build_engine("postgresql+psycopg://postgres@127.0.0.1:9/down?connect_timeout=2"))
    yield
    db.set_engine(None)


def test_health_is_503_when_the_database_is_down(client, database_down):
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "version")} == {
        "status": "error", "database": "error", "version": health.app_version()}
    assert body["scheduler"]["healthy"] is False


@pytest.fixture
def failing_extra_check():
    health.register_health_check("chain_rpc", lambda: False)
    yield
    health.HEALTH_CHECKS.pop("chain_rpc")


def test_registered_checks_join_the_health_report(client, failing_extra_check):
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["chain_rpc"] == "error" and response.json()["database"] == "ok"


def test_openapi_document_lists_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = set(spec["paths"])
    assert {
        "/api/health", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
        "/api/v1/auth/web/session", "/api/v1/auth/web/logout", "/api/v1/me", "/api/v1/brands",
        "/api/v1/brands/{brand_id}", "/api/v1/brands/{brand_id}/members", "/api/v1/brands/{brand_id}/members/{user_id}",
        "/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}", "/api/v1/campaigns/{campaign_id}/status",
        "/api/v1/public/campaigns/{slug}",
    } <= paths
    assert all(path.startswith("/api/") for path in paths)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "ErrorBody" in spec["components"]["schemas"]


def test_docs_live_under_api_only(client):
    assert client.get("/api/docs").status_code == 200
    assert "/api/openapi.json" in client.get("/api/docs").text
    assert client.get("/api/redoc").status_code == 200
    for root_path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(root_path).status_code == 404


def test_openapi_says_which_routes_a_guest_may_call_with_or_without_a_token(client):
    spec = client.get("/api/openapi.json").json()
    optional = {(method, path) for path, operations in spec["paths"].items()
                for method, operation in operations.items() if operation.get("security") == [{}, {"HTTPBearer": []}]}
    assert optional == {("post", "/api/v1/checkout"), ("get", "/api/v1/rewards/mine"),
                        ("get", "/api/v1/rewards/claimable"), ("post", "/api/v1/rewards/qr"),
                        ("post", "/api/v1/rewards/online")}
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert list(spec["components"]["securitySchemes"]) == ["HTTPBearer", "StripeSignature"]

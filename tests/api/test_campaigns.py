"""Campaigns over HTTP: CRUD, status changes, validation with field messages, paging, and the public page data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.auth.acl import Role
from backend.campaigns.models import CampaignStatus
from backend.db import utcnow
from tests.factories import campaign_fields, make_brand, make_campaign, make_user


def _json_fields(**overrides):
    """campaign_fields() as a JSON request body would carry them."""
    fields = campaign_fields(**overrides)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


@pytest.fixture
def brand():
    return make_brand(name="Aurora", primary_color="#101010", accent_color="#202020", logo_url="/logo.png")


@pytest.fixture
def admin_headers(brand, auth):
    return auth(make_user(Role.BRAND_ADMIN, brand))


def test_brand_admin_creates_reads_updates_and_deletes_a_campaign(client, brand, admin_headers):
    created = client.post(
        "/api/v1/campaigns",
        json={"brand_id": brand.id, **_json_fields(slug="Founders", price_minor=2599, currency="eur")},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["slug"] == "founders" and campaign["brand_id"] == brand.id
    assert campaign["price_minor"] == 2599 and isinstance(campaign["price_minor"], int)
    assert campaign["currency"] == "EUR"
    assert campaign["status"] == "draft" and campaign["phase"] == "not_published"
    assert campaign["supply_left"] == 100
    assert datetime.fromisoformat(campaign["sale_starts_at"]).tzinfo is not None
    assert datetime.fromisoformat(campaign["created_at"]).tzinfo is not None

    url = f"/api/v1/campaigns/{campaign['id']}"
    assert client.get(url, headers=admin_headers).json()["name"] == campaign["name"]

    patched = client.patch(url, json={"name": "Founders Edition", "price_minor": 3000}, headers=admin_headers)
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["price_minor"]) == ("Founders Edition", 3000)
    assert patched.json()["supply_cap"] == 100  # untouched fields stay

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404


def test_status_changes_follow_the_rules(client, brand, admin_headers):
    campaign = make_campaign(brand, status=CampaignStatus.DRAFT)
    url = f"/api/v1/campaigns/{campaign.id}/status"

    published = client.post(url, json={"status": "published"}, headers=admin_headers)
    assert published.status_code == 200
    assert published.json()["status"] == "published" and published.json()["phase"] == "on_sale"

    assert client.post(url, json={"status": "archived"}, headers=admin_headers).json()["status"] == "archived"
    refused = client.post(url, json={"status": "published"}, headers=admin_headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "A archived campaign cannot become published."
    unknown = client.post(url, json={"status": "launched"}, headers=admin_headers)
    assert unknown.status_code == 422 and "status" in unknown.json()["error"]["fields"]


def test_only_drafts_can_be_deleted(client, brand, admin_headers):
    live = make_campaign(brand, status=CampaignStatus.PUBLISHED)
    response = client.delete(f"/api/v1/campaigns/{live.id}", headers=admin_headers)
    assert response.status_code == 409
    assert client.get(f"/api/v1/campaigns/{live.id}", headers=admin_headers).status_code == 200


def test_create_validation_reports_every_bad_field(client, brand, admin_headers):
    body = {
        "brand_id": brand.id,
        **_json_fields(slug="Not A Slug!", price_minor=-5, supply_cap=0, currency="XYZ", royalty_receiver="0x123"),
    }

    response = client.post("/api/v1/campaigns", json=body, headers=admin_headers)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"slug", "price_minor", "supply_cap", "currency", "royalty_receiver"} <= set(error["fields"])
    assert "greater than or equal to 0" in error["fields"]["price_minor"]
    assert error["fields"]["currency"].startswith("must be one of")


def test_cross_field_rules_are_reported_on_the_body(client, brand, admin_headers):
    now = utcnow()
    body = {
        "brand_id": brand.id,
        **_json_fields(sale_starts_at=(now + timedelta(days=2)).isoformat(), sale_ends_at=now.isoformat()),
    }
    response = client.post("/api/v1/campaigns", json=body, headers=admin_headers)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    # Shown next to sale_ends_at (or on the whole body, where a model-level rule lands by default).
    assert "must be after sale_starts_at" in (fields.get("sale_ends_at") or fields.get("body", ""))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_minor", "a lot"),
        ("price_minor", 25.5),  # money is never a float
        ("supply_cap", [1]),
        ("name", {"en": "x"}),
        ("sale_starts_at", "next tuesday"),
        ("sale_starts_at", "2026-12-01T10:00:00"),  # no timezone
        ("brand_id", 10**40),
    ],
)
def test_wrong_types_are_field_errors_not_crashes(client, brand, admin_headers, field, value):
    body = {"brand_id": brand.id, **_json_fields()} | {field: value}
    response = client.post("/api/v1/campaigns", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_unknown_fields_are_refused(client, brand, admin_headers):
    response = client.post(
        "/api/v1/campaigns", json={"brand_id": brand.id, **_json_fields(), "sold_count": 99}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"sold_count": "unknown field"}
    campaign = make_campaign(brand)
    patch = client.patch(f"/api/v1/campaigns/{campaign.id}", json={"status": "archived"}, headers=admin_headers)
    assert patch.status_code == 422 and patch.json()["error"]["fields"] == {"status": "unknown field"}


def test_duplicate_slug_is_a_conflict(client, brand, admin_headers):
    make_campaign(brand, slug="taken")
    response = client.post("/api/v1/campaigns", json={"brand_id": brand.id, **_json_fields(slug="taken")},
                           headers=admin_headers)
    assert response.status_code == 409
    assert "slug" in response.json()["error"]["fields"]


def test_update_that_breaks_consistency_is_refused(client, brand, admin_headers):
    campaign = make_campaign(brand, supply_cap=10, per_wallet_cap=5)
    response = client.patch(f"/api/v1/campaigns/{campaign.id}", json={"supply_cap": 3}, headers=admin_headers)
    assert response.status_code == 422
    assert client.get(f"/api/v1/campaigns/{campaign.id}", headers=admin_headers).json()["supply_cap"] == 10


def test_staff_may_read_but_not_write_campaigns(client, brand, auth):
    campaign = make_campaign(brand)
    headers = auth(make_user(Role.BRAND_STAFF, brand))

    assert client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/campaigns?brand_id={brand.id}", headers=headers).json()["total"] == 1
    assert client.patch(f"/api/v1/campaigns/{campaign.id}", json={"name": "X"}, headers=headers).status_code == 403
    assert client.delete(f"/api/v1/campaigns/{campaign.id}", headers=headers).status_code == 403
    create = client.post("/api/v1/campaigns", json={"brand_id": brand.id, **_json_fields()}, headers=headers)
    assert create.status_code == 403


def test_another_brands_campaigns_are_out_of_reach(client, brand, admin_headers):
    other = make_brand()
    theirs = make_campaign(other, status=CampaignStatus.DRAFT, name="Secret drop")
    url = f"/api/v1/campaigns/{theirs.id}"

    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.patch(url, json={"name": "Pwned"}, headers=admin_headers).status_code == 404
    assert client.delete(url, headers=admin_headers).status_code == 404
    assert client.post(f"{url}/status", json={"status": "published"}, headers=admin_headers).status_code == 404
    # Their brand's lists are as absent as the brand itself.
    assert client.get(f"/api/v1/campaigns?brand_id={other.id}", headers=admin_headers).status_code == 404
    create = client.post("/api/v1/campaigns", json={"brand_id": other.id, **_json_fields()}, headers=admin_headers)
    assert create.status_code == 404
    # Nothing changed on their side.
    assert client.get(f"/api/v1/public/campaigns/{theirs.slug}").status_code == 404  # still a draft


def test_campaign_endpoints_need_a_token(client, brand):
    campaign = make_campaign(brand)
    assert client.get(f"/api/v1/campaigns/{campaign.id}").status_code == 401
    assert client.get(f"/api/v1/campaigns?brand_id={brand.id}").status_code == 401


def test_list_pages_sorts_filters_and_searches(client, brand, admin_headers):
    for n, price in enumerate([500, 100, 300, 200, 400]):
        make_campaign(brand, name=f"Drop {n}", slug=f"drop-{n}", price_minor=price,
                      status=CampaignStatus.DRAFT if n == 4 else CampaignStatus.PUBLISHED)
    make_campaign(brand, name="Winter Special", slug="winter", price_minor=50)
    make_campaign(make_brand(), name="Drop elsewhere", slug="elsewhere")
    base = f"/api/v1/campaigns?brand_id={brand.id}"

    first = client.get(f"{base}&sort=price_minor&order=asc&limit=2", headers=admin_headers).json()
    second = client.get(f"{base}&sort=price_minor&order=asc&limit=2&offset=2", headers=admin_headers).json()
    assert first["total"] == second["total"] == 6
    assert (first["limit"], first["offset"], second["offset"]) == (2, 0, 2)
    assert [c["price_minor"] for c in first["items"] + second["items"]] == [50, 100, 200, 300]

    descending = client.get(f"{base}&sort=price_minor&order=desc&limit=1", headers=admin_headers).json()
    assert descending["items"][0]["price_minor"] == 500

    drafts = client.get(f"{base}&status=draft", headers=admin_headers).json()
    assert [c["slug"] for c in drafts["items"]] == ["drop-4"]
    found = client.get(f"{base}&search=WINTER", headers=admin_headers).json()
    assert found["total"] == 1 and found["items"][0]["slug"] == "winter"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=password_hash", "sort"),
        ("order=sideways", "order"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        (f"offset={10**30}", "offset"),
        ("status=everything", "status"),
    ],
)
def test_bad_list_parameters_are_field_errors(client, brand, admin_headers, query, field):
    response = client.get(f"/api/v1/campaigns?brand_id={brand.id}&{query}", headers=admin_headers)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_list_needs_a_brand(client, admin_headers):
    response = client.get("/api/v1/campaigns", headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"brand_id": "Field required"}


def test_public_campaign_shows_branding_phase_and_supply(client, brand):
    campaign = make_campaign(brand, slug="aurora-founders", supply_cap=10, primary_color="#ABCDEF")

    response = client.get("/api/v1/public/campaigns/Aurora-Founders")

    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "aurora-founders" and body["phase"] == "on_sale" and body["supply_left"] == 10
    assert body["price_minor"] == campaign.price_minor and body["currency"] == "USD"
    assert body["branding"] == {
        "brand_name": "Aurora", "logo_url": "/logo.png", "primary_color": "#ABCDEF", "accent_color": "#202020",
    }
    # Internal details stay internal.
    assert not {"id", "brand_id", "created_by", "sold_count", "royalty_receiver"} & set(body)


def test_public_campaign_hides_drafts(client, brand):
    draft = make_campaign(brand, status=CampaignStatus.DRAFT)
    response = client.get(f"/api/v1/public/campaigns/{draft.slug}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_public_campaign_of_a_finished_sale_says_so(client, brand):
    make_campaign(brand, slug="over", sale_starts_at=utcnow() - timedelta(days=9),
                  sale_ends_at=utcnow() - timedelta(days=1))
    assert client.get("/api/v1/public/campaigns/over").json()["phase"] == "ended"


def test_public_campaign_whose_contract_is_not_deployed_is_not_on_sale(client, brand):
    make_campaign(brand, slug="soon", deployed=False)
    assert client.get("/api/v1/public/campaigns/soon").json()["phase"] == "not_deployed"


def test_nul_characters_are_refused_as_bad_input(client, brand, admin_headers):
    body = {"brand_id": brand.id, **_json_fields(name="Bad\u0000Name")}
    created = client.post("/api/v1/campaigns", json=body, headers=admin_headers)
    assert created.status_code == 422 and created.json()["error"]["fields"] == {
        "name": "must not contain NUL characters"
    }
    searched = client.get(f"/api/v1/campaigns?brand_id={brand.id}&search=a%00b", headers=admin_headers)
    assert searched.status_code == 422 and "search" in searched.json()["error"]["fields"]
    public = client.get("/api/v1/public/campaigns/a%00b")
    assert public.status_code == 422 and "slug" in public.json()["error"]["fields"]
    login = client.post("/api/v1/auth/login", json={"email": "a\u0000@example.com", "password": "x"})
    assert login.status_code == 422


def test_campaign_shows_its_contract_and_deploy_block_once_deployed(client, brand, admin_headers):
    from sqlalchemy import update

    from backend.chain.models import ContractDeployment
    from backend.db import session_scope
    from backend.workflow.machines import ContractState

    waiting = make_campaign(brand, deployed=False)
    deployed = make_campaign(brand)
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=waiting.id, chain=waiting.chain, state=ContractState.DEPLOYING))
        session.execute(update(ContractDeployment).where(ContractDeployment.campaign_id == deployed.id)
                        .values(contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3", deploy_block=7))
    one = client.get(f"/api/v1/campaigns/{deployed.id}", headers=admin_headers).json()
    assert (one["contract_address"], one["deploy_block"]) == ("0x5FbDB2315678afecb367f032d93F642f64180aa3", 7)
    other = client.get(f"/api/v1/campaigns/{waiting.id}", headers=admin_headers).json()
    assert (other["contract_address"], other["deploy_block"]) == (None, None)  # deploying is not deployed
    listed = client.get(f"/api/v1/campaigns?brand_id={brand.id}", headers=admin_headers).json()["items"]
    assert {c["id"]: (c["contract_address"], c["deploy_block"]) for c in listed} == {
        deployed.id: ("0x5FbDB2315678afecb367f032d93F642f64180aa3", 7), waiting.id: (None, None)}

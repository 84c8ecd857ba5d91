"""The token metadata endpoint (the collections' base URI), through a tiny app that includes the router: minted
tokens' metadata is cacheable and revalidates by ETag, unminted ids are never cached, and each IP is rate-limited."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.api.errors import install_error_handlers
from backend.api.routes.metadata import router
from backend.campaigns.models import CampaignStatus
from backend.settings import get_settings
from tests.chain.helpers import ChainUnderTest, People, add_mints, all_settled, deploy_campaign, new_address
from tests.factories import make_brand, make_campaign


def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    return TestClient(app)


def test_metadata_of_minted_tokens_and_404_beyond(anvil: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(anvil, people, image_url="/assets/spring.png")
    add_mints(campaign.id, [("order:1", new_address(anvil.w3), 2)])
    anvil.run_passes(all_settled)
    public = get_settings().public_url
    uri = anvil.collection(address).functions.tokenURI(2).call()
    assert uri.startswith(public)
    api = client()
    response = api.get(uri[len(public):])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    revalidated = api.get(uri[len(public):], headers={"If-None-Match": f'W/{response.headers["ETag"]}'})
    assert revalidated.status_code == 304 and revalidated.content == b""
    body = response.json()
    assert body["name"] == f"{campaign.name} #2"
    assert body["image"] == f"{public}/assets/spring.png"
    assert body["external_url"] == f"{public}/c/{campaign.slug}"
    assert {"trait_type": "Campaign", "value": campaign.name} in body["attributes"]
    for path in (f"/api/metadata/{campaign.slug}/3", f"/api/metadata/{campaign.slug}/0", "/api/metadata/nope/1"):
        missing = client().get(path)
        assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"  # may be minted soon
        assert missing.json()["error"]["code"] == "not_found" and "fields" in missing.json()["error"]


def test_metadata_reads_are_rate_limited_per_ip(configure) -> None:
    configure(RATE_LIMIT_METADATA_PER_IP="3/minute")
    api = client()
    assert [api.get(f"/api/metadata/nope/{n}").status_code for n in range(3)] == [404, 404, 404]
    refused = api.get("/api/metadata/nope/1")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"


def test_a_draft_slug_answers_like_an_unknown_one() -> None:
    """Drafts do not exist to the public: guessing slugs here must not confirm one."""
    draft = make_campaign(make_brand(), status=CampaignStatus.DRAFT, slug="secret-collab-2027")
    hidden = client().get(f"/api/metadata/{draft.slug}/1")
    unknown = client().get("/api/metadata/no-such-campaign-at-all/1")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()


def test_a_slug_with_a_nul_character_is_refused_as_bad_input() -> None:
    """PostgreSQL text cannot hold NUL: the lookup would fail in the database (a 500) without the guard."""
    refused = client().get("/api/metadata/ab%00cd/1")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"

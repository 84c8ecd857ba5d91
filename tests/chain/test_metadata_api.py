"""The token metadata endpoint (the collections' base URI), through a tiny app that includes the router."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.api.errors import install_error_handlers
from backend.api.routes.metadata import router
from backend.settings import get_settings
from tests.chain.conftest import ChainUnderTest, People, new_address
from tests.chain.helpers import add_mints, all_settled, deploy_campaign


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
    response = client().get(uri[len(public):])
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == f"{campaign.name} #2"
    assert body["image"] == f"{public}/assets/spring.png"
    assert body["external_url"] == f"{public}/c/{campaign.slug}"
    assert {"trait_type": "Campaign", "value": campaign.name} in body["attributes"]
    for path in (f"/api/metadata/{campaign.slug}/3", f"/api/metadata/{campaign.slug}/0", "/api/metadata/nope/1"):
        missing = client().get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found" and "fields" in missing.json()["error"]

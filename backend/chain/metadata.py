"""Token metadata in the OpenSea format, served at /api/metadata/<slug>/<token id> (the collection's base URI)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from backend.brands.models import Brand
from backend.campaigns.models import Campaign, CampaignStatus
from backend.chain.models import MintedToken
from backend.db import session_scope
from backend.errors import NotFound
from backend.settings import get_settings


def _absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://", "ipfs://", "data:")):
        return url
    return f"{get_settings().public_url.rstrip('/')}/{url.lstrip('/')}"


TOKEN_NOT_FOUND = "Token not found."


def token_metadata(slug: str, token_id: int) -> dict[str, Any]:
    """Metadata of a minted token of a public campaign. An unknown campaign, a draft (drafts do not exist to the
    public) and an id that was not minted are one and the same NotFound, so that guessing cannot confirm a slug."""
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == slug)).first()
        token = (session.get(MintedToken, (campaign.id, token_id))
                 if campaign is not None and campaign.status is not CampaignStatus.DRAFT and token_id > 0 else None)
        if campaign is None or token is None:
            raise NotFound(TOKEN_NOT_FOUND)
        brand = session.get(Brand, campaign.brand_id)
        public = get_settings().public_url.rstrip("/")
        attributes: list[dict[str, Any]] = [
            {"trait_type": "Campaign", "value": campaign.name},
            {"trait_type": "Brand", "value": brand.name if brand else ""},
            {"display_type": "number", "trait_type": "Edition", "value": token_id, "max_value": campaign.supply_cap},
        ]
        return {
            "name": f"{campaign.name} #{token_id}",
            "description": campaign.description,
            "image": _absolute(campaign.image_url or campaign.logo_url or (brand.logo_url if brand else "")),
            "external_url": f"{public}/c/{campaign.slug}",
            "attributes": attributes,
        }

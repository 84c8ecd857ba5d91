"""The public campaign page: drafts do not exist, brand colours fill in, and the sale phase is computed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.campaigns.service import get_public_campaign
from backend.db import session_scope, utcnow
from backend.errors import NotFound
from tests.factories import make_brand, make_campaign

DAY = timedelta(days=1)


def test_draft_and_unknown_campaigns_are_not_found():
    brand = make_brand()
    make_campaign(brand, slug="secret-draft", status=CampaignStatus.DRAFT)
    with pytest.raises(NotFound):
        get_public_campaign("secret-draft")
    with pytest.raises(NotFound):
        get_public_campaign("never-existed")


def test_public_page_uses_brand_branding_unless_the_campaign_overrides_it():
    brand = make_brand(name="Aurora", primary_color="#111111", accent_color="#222222", logo_url="/aurora.svg")
    make_campaign(brand, slug="plain")
    make_campaign(brand, slug="custom", primary_color="#AA0000", logo_url="/custom.svg")
    plain = get_public_campaign("plain")
    assert (plain.brand_name, plain.primary_color, plain.accent_color, plain.logo_url) == (
        "Aurora", "#111111", "#222222", "/aurora.svg")
    custom = get_public_campaign("Custom ")  # case and spaces from a typed URL
    assert (custom.primary_color, custom.accent_color, custom.logo_url) == ("#AA0000", "#222222", "/custom.svg")


@pytest.mark.parametrize(
    ("status", "starts", "ends", "sold", "phase"),
    [
        (CampaignStatus.PUBLISHED, 1, 30, 0, SalePhase.NOT_STARTED),
        (CampaignStatus.PUBLISHED, -1, 30, 0, SalePhase.ON_SALE),
        (CampaignStatus.PUBLISHED, -1, 30, 100, SalePhase.SOLD_OUT),
        (CampaignStatus.PUBLISHED, -30, -1, 0, SalePhase.ENDED),
        (CampaignStatus.PAUSED, -1, 30, 0, SalePhase.PAUSED),
        (CampaignStatus.ARCHIVED, -1, 30, 0, SalePhase.ENDED),
    ],
    ids=["not-started", "on-sale", "sold-out", "ended", "paused", "archived"],
)
def test_sale_phase_on_the_public_page(status, starts, ends, sold, phase):
    now = utcnow()
    campaign = make_campaign(make_brand(), status=status, supply_cap=100,
                             sale_starts_at=now + starts * DAY, sale_ends_at=now + ends * DAY)
    with session_scope() as session:
        session.exec(update(Campaign).where(Campaign.id == campaign.id).values(sold_count=sold))
    public = get_public_campaign(campaign.slug)
    assert public.phase is phase
    assert public.campaign.supply_left == 100 - sold

"""What a buyer sees: the sale phase derived from status, sale window and supply."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.db import utcnow

NOW = utcnow()
DAY = timedelta(days=1)


def _campaign(status: CampaignStatus = CampaignStatus.PUBLISHED, *, starts=NOW - DAY, ends=NOW + DAY,
              supply: int = 10, sold: int = 0) -> Campaign:
    return Campaign(brand_id=1, slug="c", name="C", price_minor=100, supply_cap=supply, sold_count=sold,
                    sale_starts_at=starts, sale_ends_at=ends, status=status)


@pytest.mark.parametrize(
    ("campaign", "phase"),
    [
        (_campaign(CampaignStatus.DRAFT), SalePhase.NOT_PUBLISHED),
        (_campaign(), SalePhase.ON_SALE),
        (_campaign(starts=None, ends=None), SalePhase.ON_SALE),
        (_campaign(starts=NOW + DAY, ends=NOW + 2 * DAY), SalePhase.NOT_STARTED),
        (_campaign(starts=NOW - 2 * DAY, ends=NOW - DAY), SalePhase.ENDED),
        (_campaign(sold=10), SalePhase.SOLD_OUT),
        (_campaign(CampaignStatus.PAUSED), SalePhase.PAUSED),
        (_campaign(CampaignStatus.ARCHIVED), SalePhase.ENDED),
    ],
    ids=["draft", "on-sale", "open-ended", "not-started", "ended", "sold-out", "paused", "archived"],
)
def test_sale_phase(campaign: Campaign, phase: SalePhase):
    assert campaign.sale_phase(NOW) is phase


def test_sale_window_edges_start_inclusive_end_exclusive():
    campaign = _campaign(starts=NOW, ends=NOW + DAY)
    assert campaign.sale_phase(NOW - timedelta(seconds=1)) is SalePhase.NOT_STARTED
    assert campaign.sale_phase(NOW) is SalePhase.ON_SALE
    assert campaign.sale_phase(NOW + DAY - timedelta(seconds=1)) is SalePhase.ON_SALE
    assert campaign.sale_phase(NOW + DAY) is SalePhase.ENDED


def test_supply_left_never_negative():
    assert _campaign(supply=10, sold=4).supply_left == 6
    assert _campaign(supply=10, sold=10).supply_left == 0

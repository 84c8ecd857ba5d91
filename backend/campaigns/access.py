"""A campaign for an actor: the one loader every service uses (campaigns, chain, sales, rewards, order dashboards)."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.acl import Actor, Permission, load_in_brand
from backend.campaigns.models import Campaign

CAMPAIGN_NOT_FOUND = "Campaign not found."


def load_campaign(session: Session, actor: Actor | None, campaign_id: int,
                  permission: Permission = Permission.CAMPAIGN_READ) -> Campaign:
    """The campaign if `actor` holds `permission` on its brand; another brand's campaign is not found (404), as one
    that does not exist."""
    return load_in_brand(session, actor, Campaign, campaign_id, permission, visible=Permission.CAMPAIGN_READ,
                         not_found=CAMPAIGN_NOT_FOUND)

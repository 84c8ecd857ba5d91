"""Campaign commands and queries. Every call checks the actor's permission for the campaign's brand first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from backend.auth.acl import Actor, Permission, require_in_brand, signed_in
from backend.brands.models import Brand
from backend.campaigns.access import load_campaign
from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.campaigns.schemas import CampaignCreate, CampaignUpdate
from backend.chain.models import ContractDeployment
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.pagination import Page, check_page
from backend.validation import validation_failed
from backend.workflow.machines import ContractState

SORTABLE = {"name", "created_at", "updated_at", "price_minor", "supply_cap", "status", "slug"}

# Which status changes the admin may make; anything else is refused with the reason.
STATUS_CHANGES: dict[CampaignStatus, set[CampaignStatus]] = {
    CampaignStatus.DRAFT: {CampaignStatus.PUBLISHED, CampaignStatus.ARCHIVED},
    CampaignStatus.PUBLISHED: {CampaignStatus.PAUSED, CampaignStatus.ARCHIVED},
    CampaignStatus.PAUSED: {CampaignStatus.PUBLISHED, CampaignStatus.ARCHIVED},
    CampaignStatus.ARCHIVED: set(),
}


@dataclass(frozen=True)
class PublicCampaign:
    """What the public campaign page shows: the campaign in its brand's colours."""

    campaign: Campaign
    brand_name: str
    primary_color: str
    accent_color: str
    logo_url: str
    phase: SalePhase


def _validate(model: type[CampaignCreate] | type[CampaignUpdate], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc


def _slug_taken(session: Session, slug: str, exclude_id: int | None = None) -> bool:
    query = select(Campaign.id).where(Campaign.slug == slug)
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    return session.exec(query).first() is not None


def list_campaigns(
    actor: Actor,
    brand_id: int,
    *,
    status: CampaignStatus | None = None,
    search: str = "",
    sort: str = "created_at",
    descending: bool = True,
    limit: int = 20,
    offset: int = 0,
) -> Page[Campaign]:
    require_in_brand(actor, Permission.CAMPAIGN_READ, brand_id)
    limit, offset = check_page(limit, offset)
    if sort not in SORTABLE:
        raise ValidationFailed("Cannot sort by that.", fields={"sort": f"must be one of {', '.join(sorted(SORTABLE))}"})
    with session_scope() as session:
        query = select(Campaign).where(Campaign.brand_id == brand_id)
        if status is not None:
            query = query.where(Campaign.status == status)
        if search.strip():
            term = search.strip().lower()  # % and _ are searched for as themselves, not as wildcards
            query = query.where(or_(func.lower(Campaign.name).contains(term, autoescape=True),
                                    col(Campaign.slug).contains(term, autoescape=True)))
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        order = getattr(Campaign, sort)
        query = query.order_by(order.desc() if descending else order.asc(), Campaign.id.desc())  # type: ignore[union-attr]
        items = list(session.exec(query.limit(limit).offset(offset)).all())
        return Page(items=items, total=total, limit=limit, offset=offset)


@dataclass(frozen=True)
class DeployedContract:
    """A campaign's collection once its deploy confirmed: where it lives and the block it was deployed in."""

    contract_address: str
    deploy_block: int | None


def deployed_contracts(campaigns: list[Campaign]) -> dict[int, DeployedContract]:
    """{campaign id: its deployed collection} for campaigns the caller has already read (through a service that
    checked the actor's permission); a campaign not deployed (yet) on its chain is left out."""
    by_chain = {(c.id, c.chain) for c in campaigns}
    if not by_chain:
        return {}
    with session_scope() as session:
        rows = session.exec(select(ContractDeployment.campaign_id, ContractDeployment.chain,
                                   ContractDeployment.contract_address, ContractDeployment.deploy_block).where(
            col(ContractDeployment.campaign_id).in_([c.id for c in campaigns]),
            ContractDeployment.state == ContractState.DEPLOYED)).all()
    return {campaign_id: DeployedContract(address, block) for campaign_id, chain, address, block in rows
            if (campaign_id, chain) in by_chain and address}


def get_campaign(actor: Actor, campaign_id: int) -> Campaign:
    with session_scope() as session:
        return load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_READ)


def create_campaign(actor: Actor, brand_id: int, data: dict[str, Any]) -> Campaign:
    require_in_brand(actor, Permission.CAMPAIGN_WRITE, brand_id)
    fields = _validate(CampaignCreate, data)
    with session_scope() as session:
        if session.get(Brand, brand_id) is None:
            raise NotFound("Brand not found.")
        if _slug_taken(session, fields.slug):
            raise Conflict("That URL slug is already used.", fields={"slug": "already used by another campaign"})
        campaign = Campaign(brand_id=brand_id, created_by=actor.user_id, **fields.model_dump())
        session.add(campaign)
        session.flush()
        return campaign


def update_campaign(actor: Actor, campaign_id: int, data: dict[str, Any]) -> Campaign:
    signed_in(actor)
    changes = _validate(CampaignUpdate, data).model_dump(exclude_unset=True)
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_WRITE)
        if campaign.status is CampaignStatus.ARCHIVED:
            raise Conflict("An archived campaign cannot be changed.")
        current = CampaignCreate.model_fields.keys()
        merged = {name: getattr(campaign, name) for name in current} | changes
        _validate(CampaignCreate, merged)  # the whole campaign must still be consistent
        if "slug" in changes and _slug_taken(session, changes["slug"], exclude_id=campaign.id):
            raise Conflict("That URL slug is already used.", fields={"slug": "already used by another campaign"})
        if merged["supply_cap"] < campaign.sold_count:
            raise ValidationFailed(
                "Supply cannot drop below what is already sold.",
                fields={"supply_cap": f"must be at least {campaign.sold_count} (already sold)"},
            )
        # The lock holds the deployer off (it claims the row with SKIP LOCKED) until this update commits, and makes
        # this update wait for a deployer already building the constructor from the current fields.
        if _contract_started(session, campaign, lock=True):
            _check_on_chain_fields(campaign, changes)
        for name, value in changes.items():
            setattr(campaign, name, value)
        campaign.updated_at = utcnow()
        session.add(campaign)
        return campaign


# What the collection contract was deployed with, and why it cannot follow a change here.
ON_CHAIN_FIELDS = {
    "slug": "the tokens' metadata links on chain use it",
    "royalty_bps": "the royalty is set in the deployed contract",
    "royalty_receiver": "the royalty is set in the deployed contract",
}


def _contract_started(session: Session, campaign: Campaign, *, lock: bool = False) -> bool:
    """Has a deploy transaction of the campaign's collection been sent (deploying or deployed)? With `lock`, the
    deployment row is locked (PostgreSQL) for the rest of the transaction, so the answer cannot change under it."""
    query = select(ContractDeployment.state).where(ContractDeployment.campaign_id == campaign.id,
                                                   ContractDeployment.chain == campaign.chain)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return any(state in (ContractState.DEPLOYING, ContractState.DEPLOYED) for state in session.exec(query).all())


# A deployment in these states has, or is about to have, a contract on chain owned by the platform key.
CONTRACT_KEPT = (ContractState.DEPLOY_REQUESTED, ContractState.DEPLOYING, ContractState.DEPLOYED)


def _contract_kept(session: Session, campaign: Campaign) -> bool:
    """Is a deployment of the campaign's collection requested, under way or done, on any chain? Locks those rows
    (PostgreSQL) so that the deployer cannot claim one while the campaign is being deleted."""
    query = select(ContractDeployment.state).where(ContractDeployment.campaign_id == campaign.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return any(state in CONTRACT_KEPT for state in session.exec(query).all())


def _check_on_chain_fields(campaign: Campaign, changes: dict[str, Any]) -> None:
    fields = {name: f"cannot change after deployment: {why}" for name, why in ON_CHAIN_FIELDS.items()
              if name in changes and changes[name] != getattr(campaign, name)}
    if changes.get("supply_cap") is not None and changes["supply_cap"] > campaign.supply_cap:
        fields["supply_cap"] = f"the deployed contract caps supply at {campaign.supply_cap}: it can only go down"
    if fields:
        raise ValidationFailed("Some of these settings are fixed in the deployed contract.", fields=fields)


def change_campaign_status(actor: Actor, campaign_id: int, status: CampaignStatus) -> Campaign:
    signed_in(actor)
    try:
        status = CampaignStatus(status)  # callers (forms, JSON) may pass the plain value
    except ValueError as exc:
        names = ", ".join(s.value for s in CampaignStatus)
        raise ValidationFailed("Unknown campaign status.", fields={"status": f"must be one of {names}"}) from exc
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_WRITE)
        if status not in STATUS_CHANGES[campaign.status]:
            raise Conflict(f"A {campaign.status.value} campaign cannot become {status.value}.")
        campaign.status = status
        campaign.updated_at = utcnow()
        session.add(campaign)
        return campaign


def delete_campaign(actor: Actor, campaign_id: int) -> None:
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_DELETE)
        if campaign.status is not CampaignStatus.DRAFT or campaign.sold_count:
            raise Conflict("Only a draft with nothing sold can be deleted; archive it instead.")
        if _contract_kept(session, campaign):
            # Deleting would cascade to the deployment row: the database would forget a contract the platform owns.
            raise Conflict("This draft's contract is deployed or being deployed: archive it instead.")
        session.delete(campaign)


def get_public_campaign(slug: str) -> PublicCampaign:
    """The public page's data; drafts do not exist to the public."""
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == slug.strip().lower())).first()
        if campaign is None or campaign.status is CampaignStatus.DRAFT:
            raise NotFound("This campaign does not exist or is not public yet.")
        brand = session.get(Brand, campaign.brand_id)
        assert brand is not None  # foreign key
        return PublicCampaign(
            campaign=campaign,
            brand_name=brand.name,
            primary_color=campaign.primary_color or brand.primary_color,
            accent_color=campaign.accent_color or brand.accent_color,
            logo_url=campaign.logo_url or brand.logo_url,
            phase=campaign.sale_phase(),
        )

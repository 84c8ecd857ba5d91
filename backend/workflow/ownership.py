"""Which brand owns a workflow entity ("order" 42, "contract" 7, ...), and who may read its history.

One table for every entity type the engine knows (state machines and outbox entities). Reading an entity's
history, a dead letter or an error attributed to it follows the same rule: a platform-wide grant of the entity's
read permission, or that permission in the entity's brand. An entity that belongs to no brand (a platform-level
transaction, an unknown id) is for platform-wide roles only; to anyone else it does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, false, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, signed_in
from backend.errors import NotFound


def _order_brand() -> tuple[Any, Any]:
    from backend.orders.models import Order

    return Order.id, select(Order.brand_id, Order.id)  # type: ignore[call-overload]


def _reward_brand() -> tuple[Any, Any]:
    from backend.rewards.models import Reward

    return Reward.id, select(Reward.brand_id, Reward.id)  # type: ignore[call-overload]


def _period_brand() -> tuple[Any, Any]:
    from backend.rewards.models import RewardPeriod

    return RewardPeriod.id, select(RewardPeriod.brand_id, RewardPeriod.id)  # type: ignore[call-overload]


def _vault_brand() -> tuple[Any, Any]:
    from backend.rewards.models import RewardVaultRow

    return RewardVaultRow.id, select(RewardVaultRow.brand_id, RewardVaultRow.id)  # type: ignore[call-overload]


def _campaign_brand() -> tuple[Any, Any]:
    from backend.campaigns.models import Campaign

    return Campaign.id, select(Campaign.brand_id, Campaign.id)  # type: ignore[call-overload]


def _sale_brand() -> tuple[Any, Any]:
    from backend.sales.models import Sale

    return Sale.id, select(Sale.brand_id, Sale.id)  # type: ignore[call-overload]


def _campaign_child(model_path: str) -> Callable[[], tuple[Any, Any]]:
    def brand_select() -> tuple[Any, Any]:
        from backend.campaigns.models import Campaign
        from backend.chain import models as chain_models

        model = getattr(chain_models, model_path)
        return model.id, select(Campaign.brand_id, model.id).join(Campaign, Campaign.id == model.campaign_id)

    return brand_select


@dataclass(frozen=True)
class EntityKind:
    read: Permission
    # () -> (the entity's id column, SELECT brand_id, id FROM ... joined to its brand); None: no brand
    brand_select: Callable[[], tuple[Any, Any]] | None


ENTITIES: dict[str, EntityKind] = {
    "order": EntityKind(Permission.ORDER_READ, _order_brand),
    "contract": EntityKind(Permission.CAMPAIGN_READ, _campaign_child("ContractDeployment")),
    "mint_request": EntityKind(Permission.ORDER_READ, _campaign_child("MintRequest")),
    "chain_tx": EntityKind(Permission.CAMPAIGN_READ, _campaign_child("ChainTransaction")),
    "reward": EntityKind(Permission.CAMPAIGN_READ, _reward_brand),
    "reward_period": EntityKind(Permission.CAMPAIGN_READ, _period_brand),
    "reward_vault": EntityKind(Permission.CAMPAIGN_READ, _vault_brand),
    "campaign": EntityKind(Permission.CAMPAIGN_READ, _campaign_brand),
    "sale": EntityKind(Permission.CAMPAIGN_READ, _sale_brand),
    # A person's identity check belongs to no brand: platform-wide KYC roles only.
    "kyc_case": EntityKind(Permission.KYC_READ, None),
}
_PLATFORM_ONLY = EntityKind(Permission.OPERATIONS_READ, None)


def kind(entity_type: str) -> EntityKind:
    return ENTITIES.get(entity_type, _PLATFORM_ONLY)


def brand_of(session: Session, entity_type: str, entity_id: int | str) -> int | None:
    """The brand owning the entity, or None (unknown type or id, or an entity of no brand)."""
    spec = kind(entity_type)
    if spec.brand_select is None or not str(entity_id).isdigit():
        return None
    id_column, query = spec.brand_select()
    row = session.execute(query.where(id_column == int(entity_id))).first()
    return None if row is None else row[0]


def check_read(session: Session, actor: Actor | None, entity_type: str, entity_id: int | str) -> Actor:
    """Refuse (404, as if it did not exist) unless `actor` may read this entity."""
    actor = signed_in(actor)
    permission = kind(entity_type).read
    if actor.can(permission, None):  # a platform-wide grant (platform admin; a platform KYC reviewer for KYC)
        return actor
    brand_id = brand_of(session, entity_type, entity_id)
    if brand_id is None or not actor.can(permission, brand_id):
        raise NotFound(f"No {entity_type} {entity_id}.")
    return actor


def owned_by(type_column: Any, id_column: Any, brand_ids: Iterable[int]) -> ColumnElement[bool]:
    """SQL: the (type, id) columns name an entity of one of `brand_ids` (for lists such as dead letters)."""
    brands = sorted(set(brand_ids))
    if not brands:
        return false()
    clauses = []
    for entity_type, spec in ENTITIES.items():
        if spec.brand_select is None:
            continue
        entity_id, query = spec.brand_select()
        owned = query.with_only_columns(cast(entity_id, String)).where(query.selected_columns[0].in_(brands))
        clauses.append(and_(type_column == entity_type, id_column.in_(owned)))
    return or_(*clauses)


def brand_from_context(session: Session, context: Mapping[str, Any] | None) -> int | None:
    """The brand an error is about, from its context: `brand_id`, else `order_id`, `campaign_id` or `entity`
    ("type:id"). None when it names none (a platform-level failure)."""
    context = context or {}
    brand = context.get("brand_id")
    if isinstance(brand, int) and not isinstance(brand, bool):
        return brand
    if isinstance(context.get("order_id"), int):
        return brand_of(session, "order", context["order_id"])
    if isinstance(context.get("campaign_id"), int):
        from backend.campaigns.models import Campaign

        campaign = session.get(Campaign, context["campaign_id"])
        return campaign.brand_id if campaign is not None else None
    entity = context.get("entity")
    if isinstance(entity, str) and ":" in entity:
        entity_type, entity_id = entity.split(":", 1)
        return brand_of(session, entity_type, entity_id)
    return None

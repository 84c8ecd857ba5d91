"""Reward definitions: brand admins define, change and end the rewards of their campaigns; staff read them.

Every call checks the actor's permission for the campaign's brand first; another brand's campaign or reward is
NotFound, as if it did not exist. Every change writes a `reward_change` row; ending also goes through the `reward`
state machine (a state_transition row). A reward in use (first redeemed or allocated) keeps its rules: only its
title, description and image may change, and it may be ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, select

from backend.auth.acl import Actor, Permission, load_in_brand, require, signed_in
from backend.campaigns.access import load_campaign
from backend.db import session_scope, utcnow
from backend.errors import Conflict, ValidationFailed
from backend.rewards.models import Reward, RewardChange, RewardKind
from backend.rewards.schemas import PRESENTATION_FIELDS, RewardFields, RewardUpdate, comparable
from backend.validation import validation_failed
from backend.workflow.machines import RewardState
from backend.workflow.outbox import emit
from backend.workflow.transitions import transition

IN_USE = ("This reward is in use: its rules can no longer change (only its title, description and image). "
          "End it and define a new one instead.")


def _reward(session: Session, actor: Actor | None, reward_id: int, permission: Permission) -> Reward:
    return load_in_brand(session, actor, Reward, reward_id, permission, visible=Permission.CAMPAIGN_READ,
                         not_found="Reward not found.")


def _who(actor: Actor) -> str:
    return f"user:{actor.user_id}"


def _fields(reward: Reward) -> dict[str, Any]:
    return {name: getattr(reward, name) for name in RewardFields.model_fields}


def list_rewards(actor: Actor, campaign_id: int, *, state: RewardState | None = None) -> list[Reward]:
    """The campaign's rewards, newest first (a campaign has a handful: no paging)."""
    with session_scope() as session:
        load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_READ)
        query = select(Reward).where(Reward.campaign_id == campaign_id)
        if state is not None:
            query = query.where(Reward.state == state)
        return list(session.exec(query.order_by(Reward.id.desc())).all())  # type: ignore[union-attr]


def get_reward(actor: Actor, reward_id: int) -> Reward:
    with session_scope() as session:
        return _reward(session, actor, reward_id, Permission.CAMPAIGN_READ)


def define_reward(actor: Actor, campaign_id: int, data: dict[str, Any]) -> Reward:
    signed_in(actor)
    try:
        fields = RewardFields.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_WRITE)
        reward = Reward(campaign_id=campaign_id, brand_id=campaign.brand_id, created_by=actor.user_id,
                        **fields.model_dump())
        session.add(reward)
        session.flush()
        session.add(RewardChange(reward_id=reward.id, action="defined", actor=_who(actor),  # type: ignore[arg-type]
                                 changes={k: [None, comparable(v)] for k, v in fields.model_dump().items()
                                          if v not in (None, [], "", False)}))
        if reward.kind is RewardKind.PAYOUT:  # first use: the contract deployer deploys the brand's vault
            from backend.rewards.vault import request_vault

            request_vault(session, campaign.brand_id, campaign.chain)
        emit(session, "reward.defined",
             {"reward_id": reward.id, "campaign_id": campaign_id, "brand_id": campaign.brand_id,
              "kind": reward.kind.value},
             entity=("reward", reward.id), key=f"reward.defined:{reward.id}")
        return reward


def update_reward(actor: Actor, reward_id: int, data: dict[str, Any]) -> Reward:
    signed_in(actor)
    if "kind" in data:
        raise ValidationFailed("A reward's kind cannot change: end it and define a new one.",
                               fields={"kind": "cannot change"})
    try:
        changes = RewardUpdate.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    with session_scope() as session:
        reward = _reward(session, actor, reward_id, Permission.CAMPAIGN_WRITE)
        if reward.state is RewardState.ENDED:
            raise Conflict("This reward has ended and can no longer change.")
        current = _fields(reward)
        try:
            merged = RewardFields.model_validate(current | changes).model_dump()
        except ValidationError as exc:
            raise validation_failed(exc) from exc
        diff = {name: [comparable(current[name]), comparable(value)] for name, value in merged.items()
                if comparable(current[name]) != comparable(value)}
        if not diff:
            return reward
        rules_changed = sorted(set(diff) - PRESENTATION_FIELDS)
        if rules_changed and reward.in_use:
            raise Conflict(IN_USE, fields={name: "cannot change while the reward is in use" for name in rules_changed})
        values = {name: merged[name] for name in diff} | {"version": reward.version + 1, "updated_at": utcnow()}
        guard = [Reward.id == reward.id, Reward.version == reward.version, Reward.state == RewardState.ACTIVE]
        if rules_changed:  # a first redemption committed meanwhile freezes the rules: checked in the same UPDATE
            guard.append(Reward.first_used_at.is_(None))  # type: ignore[union-attr]
        result = session.execute(update(Reward).where(*guard).values(**values)
                                 .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("This reward changed (or was first used) while you edited it: reload and try again.")
        session.add(RewardChange(reward_id=reward.id, action="updated", actor=_who(actor),  # type: ignore[arg-type]
                                 changes=diff))
        session.flush()
        session.refresh(reward)
        return reward


def end_reward(actor: Actor, reward_id: int, reason: str = "") -> Reward:
    """End a reward for good: nothing more is redeemed or paid from now on (what is already allocated stays)."""
    signed_in(actor)
    reason = " ".join(reason.split())[:500]
    with session_scope() as session:
        reward = _reward(session, actor, reward_id, Permission.CAMPAIGN_WRITE)
        if reward.state is RewardState.ENDED:
            raise Conflict("This reward has already ended.")
        transition(session, reward, "end", actor=_who(actor), reason=reason)
        session.add(RewardChange(reward_id=reward.id, action="ended", actor=_who(actor),  # type: ignore[arg-type]
                                 changes={"state": ["active", "ended"]}, reason=reason))
        return reward


def reward_changes(actor: Actor, reward_id: int) -> list[RewardChange]:
    """The reward's change history, oldest first."""
    with session_scope() as session:
        _reward(session, actor, reward_id, Permission.CAMPAIGN_READ)
        return list(session.exec(select(RewardChange).where(RewardChange.reward_id == reward_id)
                                 .order_by(RewardChange.id)).all())  # type: ignore[arg-type]


def mark_in_use(session: Session, reward: Reward) -> None:
    """Freeze the reward's rules: called in the transaction of its first redemption (or payout allocation). Cheap
    after the first time (the UPDATE matches nothing and takes no lock)."""
    if reward.first_used_at is not None:
        return
    session.execute(update(Reward).where(Reward.id == reward.id, Reward.first_used_at.is_(None))  # type: ignore[union-attr]
                    .values(first_used_at=utcnow()).execution_options(synchronize_session=False))


__all__ = ["IN_USE", "RewardKind", "RewardStats", "define_reward", "end_reward", "get_reward", "list_rewards",
           "mark_in_use", "reward_changes", "reward_stats", "update_reward"]


# -- statistics for the admin --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RewardStats:
    redeemed: int
    refused: int
    by_day: list[tuple[str, int]]  # ("2026-12-05", redemptions), oldest first, the last `days` days
    by_location: list[tuple[str, int]]  # most first; "" = no location (online, or a perk without locations)
    by_staff: list[tuple[str, int]]  # staff name (or "online"), most first
    refusals: list[tuple[str, int]]  # reason, attempts; most first
    recent_refusals: list[tuple[datetime, str, str, str]]  # (when, staff, location, message), newest first
    recent_online_codes: list[tuple[datetime, int, str]]  # (when, token id, redemption code), newest first


def reward_stats(actor: Actor, reward_id: int, *, days: int = 30) -> RewardStats:
    """What the admin sees per reward: redemptions over time, by location and staff member, refused attempts and
    why. Counted in the database (grouped queries), never by loading every row."""
    from datetime import timedelta

    from sqlalchemy import func

    from backend.auth.models import User
    from backend.rewards.models import AttemptOutcome, RewardAttempt, RewardRedemption

    days = max(1, min(days, 366))
    with session_scope() as session:
        _reward(session, actor, reward_id, Permission.CAMPAIGN_READ)
        r, a = RewardRedemption, RewardAttempt
        since = utcnow() - timedelta(days=days - 1)
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        redeemed = session.execute(select(func.count()).select_from(r).where(r.reward_id == reward_id)).scalar_one()
        refused = session.execute(select(func.count()).select_from(a).where(
            a.reward_id == reward_id, a.outcome == AttemptOutcome.REFUSED)).scalar_one()
        per_day: dict[str, int] = {}
        for (at,) in session.execute(select(r.created_at).where(r.reward_id == reward_id, r.created_at >= since)):
            key = at.strftime("%Y-%m-%d")
            per_day[key] = per_day.get(key, 0) + 1
        by_day = [((since + timedelta(days=n)).strftime("%Y-%m-%d"),
                   per_day.get((since + timedelta(days=n)).strftime("%Y-%m-%d"), 0)) for n in range(days)]
        by_location = [(loc or "", int(n)) for loc, n in session.execute(
            select(r.location, func.count()).where(r.reward_id == reward_id).group_by(r.location)
            .order_by(func.count().desc()))]
        staff_rows = session.execute(
            select(User.display_name, User.email, func.count()).select_from(r)
            .outerjoin(User, User.id == r.staff_user_id).where(r.reward_id == reward_id)
            .group_by(User.id, User.display_name, User.email).order_by(func.count().desc())).all()
        by_staff = [((name or (email or "").split("@", 1)[0]) if email else "online", int(n))
                    for name, email, n in staff_rows]
        refusals = [(reason, int(n)) for reason, n in session.execute(
            select(a.reason, func.count()).where(a.reward_id == reward_id, a.outcome == AttemptOutcome.REFUSED)
            .group_by(a.reason).order_by(func.count().desc()))]
        recent = session.execute(
            select(a.created_at, User.display_name, User.email, a.location, a.message).select_from(a)
            .outerjoin(User, User.id == a.staff_user_id)
            .where(a.reward_id == reward_id, a.outcome == AttemptOutcome.REFUSED)
            .order_by(a.id.desc()).limit(20)).all()  # type: ignore[union-attr]
        recent_refusals = [(at, name or (email or "").split("@", 1)[0], loc, msg)
                           for at, name, email, loc, msg in recent]
        online = session.execute(
            select(r.created_at, r.token_id, r.redemption_code)
            .where(r.reward_id == reward_id, r.redemption_code.is_not(None))  # type: ignore[union-attr]
            .order_by(r.id.desc()).limit(20)).all()  # type: ignore[union-attr]
        return RewardStats(redeemed, refused, by_day, by_location, by_staff, refusals, recent_refusals,
                           [(at, int(t), code) for at, t, code in online])


def redemption_locations(actor: Actor, brand_id: int) -> list[str]:
    """Where the brand's active in-store perks are redeemed (the staff page's location choice), sorted."""
    require(actor, Permission.REWARD_REDEEM, brand_id)
    with session_scope() as session:
        rows = session.exec(select(Reward.locations).where(
            Reward.brand_id == brand_id, Reward.state == RewardState.ACTIVE,
            Reward.kind == RewardKind.PERK)).all()
    return sorted({name for locations in rows for name in (locations or [])}, key=str.lower)

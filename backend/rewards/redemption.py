"""Perk redemption: what a holder may use now, their QR codes, the counter's scan and confirm, and online perks.

Staff redemption (`scan_code`) is atomic on the server: a use is taken by INSERTing its `reward_redemption` row,
unique on (reward, token, period, use number) and on the code's nonce, inside a savepoint; whoever loses the race
gets the constraint error, not a second use. Nothing is read-then-written. Every attempt, accepted or refused, is a
`reward_attempt` row in the same transaction (who, where, when, outcome, reason), and refusals say why in plain words
("Already used today at 14:02 UTC by Sam at Main St.").
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, and_, bindparam, case, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, signed_in
from backend.auth.models import User
from backend.auth.ratelimit import limit_per_network
from backend.brands.models import Brand
from backend.campaigns.models import Campaign
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound
from backend.rewards import codes, gates
from backend.rewards.gates import KycRequired
from backend.rewards.holdings import HeldToken, Holder, held_tokens, holds, holds_clause
from backend.rewards.models import (
    AttemptOutcome,
    PerkChannel,
    RedemptionChannel,
    Reward,
    RewardAttempt,
    RewardKind,
    RewardRedemption,
    UsePeriod,
)
from backend.rewards.service import mark_in_use
from backend.settings import get_settings
from backend.workflow.machines import RewardState
from backend.workflow.models import OutboxEvent
from backend.workflow.outbox import NewEvent, emit_many, has_subscribers
from backend.workflow.sql import dialect_name


class Refusal(StrEnum):
    """Why a redemption was refused (pretix's check-in reasons, where they fit)."""

    INVALID = "invalid"  # not our code: garbled, altered, forged
    EXPIRED = "expired"
    FOREIGN_BRAND = "foreign_brand"
    ENDED = "ended"
    INVALID_TIME = "invalid_time"  # outside the reward's validity window
    LOCATION = "location"
    NOT_QUALIFYING = "not_qualifying"  # the token is not one the reward is for
    NOT_HOLDER = "not_holder"  # the token changed hands since the code was drawn
    ALREADY_REDEEMED = "already_redeemed"
    KYC_REQUIRED = "kyc_required"


# -- periods -------------------------------------------------------------------------------------------------------

PERIOD_WORDS = {UsePeriod.EVER: "", UsePeriod.DAY: "today", UsePeriod.WEEK: "this week",
                UsePeriod.MONTH: "this month"}
PERIOD_LABELS = {UsePeriod.EVER: "in all", UsePeriod.DAY: "per day", UsePeriod.WEEK: "per week",
                 UsePeriod.MONTH: "per month"}


def period_key(period: UsePeriod, at: datetime) -> str:
    """The period `at` falls in (UTC): "ever", "2026-12-05", "2026-W49" (ISO week), "2026-12"."""
    at = at.astimezone(UTC)
    if period is UsePeriod.DAY:
        return at.strftime("%Y-%m-%d")
    if period is UsePeriod.WEEK:
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if period is UsePeriod.MONTH:
        return at.strftime("%Y-%m")
    return "ever"


def _uses(session: Session, reward_id: int, token_id: int, key: str) -> int:
    return int(session.execute(select(func.count()).select_from(RewardRedemption).where(
        RewardRedemption.reward_id == reward_id, RewardRedemption.token_id == token_id,
        RewardRedemption.period_key == key)).scalar_one())


def _clock(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M UTC")


def _when(at: datetime, now: datetime) -> str:
    at = at.astimezone(UTC)
    return f"at {_clock(at)}" if at.date() == now.astimezone(UTC).date() else f"on {at:%d %b %Y} at {_clock(at)}"


def _staff_name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = session.get(User, user_id)
    if user is None:
        return "a former staff member"
    return user.display_name or user.email.split("@", 1)[0]


def _used_message(session: Session, reward: Reward, last: Any, now: datetime,
                  *, this_code: bool = False) -> str:
    """ "Already used today at 14:02 UTC by Sam at Main St." """
    words = "This code was already used" if this_code else (
        f"Already used {PERIOD_WORDS[reward.use_period]}".rstrip() if reward.uses_per_period == 1
        else f"All {reward.uses_per_period} uses {PERIOD_LABELS[reward.use_period]} are taken; the last was")
    if last is None:
        return words + "."
    by = _staff_name(session, last.staff_user_id)
    text = f"{words} {_when(last.created_at, now)}"
    if last.channel == RedemptionChannel.ONLINE:
        text += " online"
    elif by:
        text += f" by {by}"
    if last.location:
        text += f" at {last.location}"
    return text.rstrip(".") + "."


def _last_use(session: Session, reward_id: int, token_id: int, key: str) -> Any:
    uses = _period_uses(session, reward_id, token_id, key)
    return uses[-1] if uses else None


# -- the holder's side ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HolderPerk:
    reward_id: int
    campaign_id: int
    campaign_name: str
    token_id: int
    holder: str
    title: str
    description: str
    image_url: str
    channel: PerkChannel
    use_period: UsePeriod
    uses_per_period: int
    uses_left: int
    ends_at: datetime | None
    locations: list[str] = field(default_factory=list)
    requires_kyc: bool = False
    blocked: str = ""  # why it cannot be used now although held (e.g. KYC), else ""


def _usable(reward: Reward, now: datetime) -> bool:
    return (reward.kind is RewardKind.PERK and reward.state is RewardState.ACTIVE
            and reward.window_state(now) == "open")


def my_perks(holder: Holder, *, tokens: list[HeldToken] | None = None) -> list[HolderPerk]:
    """Every perk the holder's tokens carry now, per token, with the uses left in the current period. Perks used up
    for the period stay listed (uses_left 0) so the holder sees when they come back."""
    tokens = held_tokens(holder) if tokens is None else tokens
    if not tokens:
        return []
    now = utcnow()
    by_campaign: dict[int, list[HeldToken]] = {}
    for token in tokens:
        by_campaign.setdefault(token.campaign_id, []).append(token)
    perks: list[HolderPerk] = []
    with session_scope() as session:
        rewards = session.execute(select(Reward).where(
            Reward.campaign_id.in_(list(by_campaign)), Reward.kind == RewardKind.PERK,  # type: ignore[attr-defined]
            Reward.state == RewardState.ACTIVE).order_by(Reward.id)).scalars().all()
        campaigns = {c.id: c for c in session.execute(select(Campaign).where(
            Campaign.id.in_(list(by_campaign)))).scalars()}  # type: ignore[union-attr]
        for reward in rewards:
            if not _usable(reward, now):
                continue
            for token in by_campaign[reward.campaign_id]:
                if not reward.qualifies(token.token_id):
                    continue
                used = _uses(session, reward.id, token.token_id, period_key(reward.use_period, now))  # type: ignore[arg-type]
                blocked = ""
                try:
                    # By the token's holding address, as the counter checks it: the signed-in account's approval
                    # covers its custodial tokens, not those of a wallet it proved (backend.rewards.gates).
                    gates.check_reward_kyc(token.owner, reward, session=session)
                except KycRequired as exc:
                    blocked = exc.message
                perks.append(HolderPerk(
                    reward.id, reward.campaign_id, campaigns[reward.campaign_id].name, token.token_id,  # type: ignore[arg-type]
                    token.owner, reward.title, reward.description, reward.image_url, reward.channel, reward.use_period,
                    reward.uses_per_period, max(0, reward.uses_per_period - used), reward.ends_at,
                    list(reward.locations), reward.requires_kyc, blocked))
    return perks


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime
    reward_id: int
    token_id: int
    holder: str


def _held_perk(holder: Holder, reward_id: int, token_id: int) -> HolderPerk:
    """The holder's perk for this token, or NotFound (a token they do not hold and a reward that is not theirs look
    alike); Conflict when it cannot be used now (used up, KYC)."""
    with session_scope() as session:
        reward = session.get(Reward, reward_id)
        campaign_id = reward.campaign_id if reward is not None else None
    if campaign_id is None:
        raise NotFound("You hold no token with this perk.")
    tokens = [t for t in held_tokens(holder, [campaign_id]) if t.token_id == token_id]
    perk = next((p for p in my_perks(holder, tokens=tokens) if p.reward_id == reward_id), None)
    if perk is None:
        raise NotFound("You hold no token with this perk.")
    if perk.blocked:
        raise Conflict(perk.blocked)
    if perk.uses_left <= 0:
        raise Conflict(f"This perk is used up {PERIOD_WORDS[perk.use_period] or 'for good'} for token #{token_id}.")
    return perk


def limit_qr_codes(ip: str) -> None:
    """Count a QR code drawn from `ip`'s network; the API and the redeem page draw from this one budget."""
    limit_per_network(get_settings().reward_qr_rate_per_ip, "reward:qr", ip)


def limit_online_redemptions(ip: str) -> None:
    """Count an online redemption (it writes rows) from `ip`'s network; the API and the redeem page draw from this
    one budget."""
    limit_per_network(get_settings().reward_online_rate_per_ip, "reward:online", ip)


def issue_code(holder: Holder, reward_id: int, token_id: int) -> IssuedCode:
    """A fresh QR code for an in-store perk of a token the holder holds now (nothing is stored: the code is signed)."""
    perk = _held_perk(holder, reward_id, token_id)
    if perk.channel is not PerkChannel.IN_STORE:
        raise Conflict("This perk is redeemed online, not with a code at the counter.")
    expires = int(time.time()) + get_settings().reward_qr_ttl_s
    code = codes.encode(reward_id, token_id, perk.holder, expires)
    return IssuedCode(code, datetime.fromtimestamp(expires, UTC), reward_id, token_id, perk.holder)


@dataclass(frozen=True)
class OnlineRedemption:
    redemption_code: str
    reward_id: int
    token_id: int
    redeemed_at: datetime
    uses_left: int


def redeem_online(holder: Holder, reward_id: int, token_id: int) -> OnlineRedemption:
    """Redeem an online perk right away: the holder gets a redemption code for the brand's shop."""
    perk = _held_perk(holder, reward_id, token_id)
    if perk.channel is not PerkChannel.ONLINE:
        raise Conflict("This perk is redeemed at the counter: show its QR code to the staff.")
    with session_scope() as session:
        reward = session.get(Reward, reward_id)
        assert reward is not None
        now = utcnow()
        # The holder proved the token a moment ago (chain + indexer); the indexer must still agree in this transaction.
        if not holds(session, reward.campaign_id, token_id, perk.holder):
            raise NotFound("You hold no token with this perk.")
        redemption_code = "RW-" + secrets.token_hex(5).upper()
        redemption = _take_use(session, reward, token_id, perk.holder, now, channel=RedemptionChannel.ONLINE,
                               redemption_code=redemption_code)
        if redemption is None:
            raise Conflict(_used_message(session, reward, _last_use(session, reward_id, token_id,
                                                                     period_key(reward.use_period, now)), now))
        _record_attempt(session, reward, token_id, None, "", AttemptOutcome.ACCEPTED, None, "",
                        redemption.id, RedemptionChannel.ONLINE)
        return OnlineRedemption(redemption_code, reward_id, token_id, now, perk.uses_left - 1)


# -- the counter's side --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanResult:
    status: str  # "valid" (checked, not redeemed yet), "redeemed", "refused"
    reason: str = ""  # a Refusal value when refused
    message: str = ""
    reward_id: int | None = None
    reward_title: str = ""
    reward_description: str = ""
    reward_image_url: str = ""
    campaign_name: str = ""
    token_id: int | None = None
    token_image_url: str = ""
    holder: str = ""
    uses_left: int | None = None
    uses_per_period: int | None = None
    use_period: str = ""
    locations: list[str] = field(default_factory=list)
    location: str = ""
    redemption_id: int | None = None
    at: datetime | None = None


def _record_attempt(session: Session, reward: Reward | None, token_id: int | None, actor: Actor | None,
                    location: str, outcome: AttemptOutcome, reason: Refusal | None, message: str,
                    redemption_id: int | None, channel: RedemptionChannel = RedemptionChannel.QR,
                    scanner_brand_id: int | None = None) -> None:
    session.connection().execute(_INSERT_ATTEMPT, _attempt_row(reward, token_id, actor, location, outcome, reason,
                                                               message, redemption_id, channel, scanner_brand_id))


def _attempt_row(reward: Reward | None, token_id: int | None, actor: Actor | None, location: str,
                 outcome: AttemptOutcome, reason: Refusal | None, message: str, redemption_id: int | None,
                 channel: RedemptionChannel = RedemptionChannel.QR, scanner_brand_id: int | None = None
                 ) -> dict[str, Any]:
    return {
        "reward_id": reward.id if reward is not None else None,
        "brand_id": reward.brand_id if reward is not None else None,
        "token_id": token_id, "channel": channel.value, "staff_user_id": actor.user_id if actor is not None else None,
        "scanner_brand_id": scanner_brand_id if scanner_brand_id is not None else (
            reward.brand_id if reward is not None else None),
        "location": location[:120], "outcome": outcome.value, "reason": reason.value if reason else "",
        "message": message[:300], "redemption_id": redemption_id, "created_at": utcnow()}


_INSERT_ATTEMPT = insert(RewardAttempt)


def _use_event_attempt_statement() -> Any:
    uses, events, attempts = (RewardRedemption.__table__, OutboxEvent.__table__,  # type: ignore[attr-defined]
                              RewardAttempt.__table__)  # type: ignore[attr-defined]
    use = (postgresql_insert(uses).values({name: bindparam(name, type_=uses.c[name].type) for name in (
        "reward_id", "token_id", "period_key", "use_no", "holder", "channel", "code_nonce", "staff_user_id",
        "location", "redemption_code", "request_id", "created_at")}).on_conflict_do_nothing()
           .returning(uses.c.id).cte("use"))
    payload = cast(cast(bindparam("payload", type_=String), JSONB).op("||")(
        func.jsonb_build_object(literal("redemption_id", String), use.c.id)), JSON)
    event = insert(events).from_select(
        ["topic", "payload", "entity_type", "entity_id", "created_at"],
        select(literal("reward.redeemed", String), payload, literal("reward", String),
               bindparam("entity_id", type_=String), bindparam("event_at", type_=events.c.created_at.type))
        .select_from(use)).returning(events.c.id).cte("event")
    columns = [column.name for column in attempts.c if column.name not in ("id", "redemption_id")]
    attempt = insert(attempts).from_select(
        [*columns, "redemption_id"],
        select(*(bindparam(f"a_{name}", type_=attempts.c[name].type) for name in columns), use.c.id)
        .select_from(use)).returning(attempts.c.id).cte("attempt")
    return select(use.c.id).add_cte(event, attempt)


_INSERT_USE_EVENT_ATTEMPT = _use_event_attempt_statement()


# The counter's hot path runs prepared statement objects (built once; SQLAlchemy caches their compiled form) and
# reads plain rows: building the queries and ORM objects per scan cost more than the database did.
_USE_COLUMNS = (RewardRedemption.id, RewardRedemption.code_nonce, RewardRedemption.staff_user_id,
                RewardRedemption.location, RewardRedemption.created_at, RewardRedemption.channel,
                RewardRedemption.request_id)
_PERIOD_USES = select(*_USE_COLUMNS).where(
    RewardRedemption.reward_id == bindparam("reward_id"), RewardRedemption.token_id == bindparam("token_id"),
    RewardRedemption.period_key == bindparam("period_key")).order_by(RewardRedemption.id)  # type: ignore[arg-type]
_BY_NONCE = select(*_USE_COLUMNS).where(RewardRedemption.code_nonce == bindparam("nonce"))
# What a scan reads, in one statement: the reward's rules and what staff are shown, its campaign's and brand's images,
# whether the code's holder holds the token now, and the token's uses of the reward in the current period (one row
# per use, oldest first; one row with the use columns NULL when there is none).
_RULES = (Reward.id, Reward.campaign_id, Reward.brand_id, Reward.title, Reward.description, Reward.image_url,
          Reward.starts_at, Reward.ends_at, Reward.token_ranges, Reward.requires_kyc, Reward.channel,
          Reward.use_period, Reward.uses_per_period, Reward.locations, Reward.state, Reward.first_used_at)
_SCAN = (select(*_RULES, Campaign.name.label("campaign_name"),  # type: ignore[attr-defined]
                func.coalesce(func.nullif(Campaign.image_url, ""), func.nullif(Campaign.logo_url, ""),
                              Brand.logo_url, "").label("token_image_url"),
                holds_clause(Reward.campaign_id).label("held"),  # type: ignore[arg-type]
                *(column.label(f"use_{column.key}") for column in _USE_COLUMNS))
         .join(Campaign, Campaign.id == Reward.campaign_id).join(Brand, Brand.id == Reward.brand_id)
         .outerjoin(RewardRedemption, and_(
             RewardRedemption.reward_id == bindparam("reward_id"), RewardRedemption.token_id == bindparam("token_id"),
             RewardRedemption.period_key == case(
                 *((Reward.use_period == period, bindparam(f"{period.value}_key")) for period in UsePeriod))))
         .where(Reward.id == bindparam("reward_id"))
         .order_by(RewardRedemption.id))  # type: ignore[arg-type]
_INSERT_USE = {name: dialect_insert(RewardRedemption).on_conflict_do_nothing().returning(RewardRedemption.id)
               for name, dialect_insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))}


def _period_uses(session: Session, reward_id: int, token_id: int, key: str) -> list[Any]:
    """The token's uses of the reward in the period, oldest first (at most uses_per_period rows)."""
    return list(session.connection().execute(
        _PERIOD_USES, {"reward_id": reward_id, "token_id": token_id, "period_key": key}))


def _insert_use(session: Session, values: dict[str, object]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id (SQLite and PostgreSQL): the new row's id, or None when a
    unique constraint (the use number, the code's nonce, the redemption code) already holds that use."""
    return session.connection().execute(_INSERT_USE[dialect_name(session)], values).scalar_one_or_none()


@dataclass(frozen=True)
class TakenUse:
    id: int
    use_no: int


def _take_use(session: Session, reward: Reward, token_id: int, holder: str, now: datetime, *,
              channel: RedemptionChannel, used: int | None = None, code_nonce: str | None = None,
              actor: Actor | None = None, location: str = "", redemption_code: str | None = None,
              scanner_brand_id: int | None = None, request_id: str | None = None) -> TakenUse | None:
    """Take the next use of (reward, token) in the current period by inserting its row, with its `reward.redeemed`
    event and, for a staff scan (`actor` given with channel QR), its accepted attempt; None when every use is taken
    (or this code was used). A race with another counter is settled by the unique constraints, never by the count
    read before: the loser's INSERT does nothing, and it counts again."""
    key = period_key(reward.use_period, now)
    event = {"reward_id": reward.id, "brand_id": reward.brand_id, "campaign_id": reward.campaign_id,
             "token_id": token_id, "channel": channel.value, "redemption_code": redemption_code}
    attempt = _attempt_row(reward, token_id, actor, location, AttemptOutcome.ACCEPTED, None, "Redeemed.", None,
                           scanner_brand_id=scanner_brand_id) if (
        actor is not None and channel is RedemptionChannel.QR) else None
    one_statement = (attempt is not None and dialect_name(session) == "postgresql"
                     and not has_subscribers("reward.redeemed"))
    for _ in range(reward.uses_per_period + 1):
        if used is None:
            used = len(_period_uses(session, reward.id, token_id, key))  # type: ignore[arg-type]
        if used >= reward.uses_per_period:
            return None
        use = {"reward_id": reward.id, "token_id": token_id, "period_key": key, "use_no": used + 1, "holder": holder,
               "channel": channel.value, "code_nonce": code_nonce,
               "staff_user_id": actor.user_id if actor is not None else None, "location": location,
               "redemption_code": redemption_code, "request_id": request_id, "created_at": now}
        if one_statement:
            new_id = _insert_use_event_attempt(session, use, event, attempt)  # type: ignore[arg-type]
        else:
            new_id = _insert_use(session, use)
        if new_id is None:
            if code_nonce is not None and _by_nonce(session, code_nonce) is not None:
                return None  # this very code won at another counter
            used = None  # another code of this token took this number: count again
            continue
        mark_in_use(session, reward)
        if not one_statement:
            emit_many(session, [NewEvent("reward.redeemed", event | {"redemption_id": new_id},
                                         entity=("reward", reward.id))])
            if attempt is not None:
                session.connection().execute(_INSERT_ATTEMPT, attempt | {"redemption_id": new_id})
        return TakenUse(new_id, used + 1)
    return None


def _insert_use_event_attempt(session: Session, use: dict[str, Any], event: dict[str, Any],
                              attempt: dict[str, Any]) -> int | None:
    """PostgreSQL: the use, its `reward.redeemed` event and the accepted attempt in ONE statement (data-modifying
    CTEs: the event and the attempt are inserted from the use's RETURNING, so a use not taken writes neither). Three
    statements were two of the counter's seven round trips and a third of the web process's CPU per redeem
    (bench/redeem.py). Only while no subscriber listens to the topic (its deliveries are emit_many's to write)."""
    params = {**use, "payload": json.dumps(event), "event_at": utcnow(), "entity_id": str(use["reward_id"]),
              **{f"a_{name}": value for name, value in attempt.items()}}
    return session.connection().execute(_INSERT_USE_EVENT_ATTEMPT, params).scalar_one_or_none()


def _by_nonce(session: Session, nonce: str) -> Any:
    return session.connection().execute(_BY_NONCE, {"nonce": nonce}).first()


@dataclass(frozen=True)
class _ScannedRules:
    """The scanned reward as the scan read it (a plain row, not an ORM object: the counter's hot path)."""

    id: int
    campaign_id: int
    brand_id: int
    title: str
    description: str
    image_url: str
    starts_at: datetime | None
    ends_at: datetime | None
    token_ranges: list[Any]
    requires_kyc: bool
    channel: PerkChannel
    use_period: UsePeriod
    uses_per_period: int
    locations: list[Any]
    state: RewardState
    first_used_at: datetime | None

    def qualifies(self, token_id: int) -> bool:
        return Reward.qualifies(self, token_id)  # type: ignore[arg-type]

    def window_state(self, now: datetime) -> str:
        return Reward.window_state(self, now)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Use:
    id: int
    code_nonce: str | None
    staff_user_id: int | None
    location: str
    created_at: datetime
    channel: RedemptionChannel
    request_id: str | None


def _read_scan(session: Session, code: codes.RewardCode, now: datetime
               ) -> tuple[_ScannedRules, str, str, bool, list[_Use]] | None:
    """(rules, campaign name, token image, held, the period's uses) for a code, or None when its reward is unknown."""
    rows = session.connection().execute(_SCAN, {
        "reward_id": code.reward_id, "token_id": code.token_id, "owner": code.holder,
        **{f"{period.value}_key": period_key(period, now) for period in UsePeriod}}).all()
    if not rows:
        return None
    first = rows[0]
    rules = _ScannedRules(*first[:len(_RULES)])
    uses = [_Use(*row[-len(_USE_COLUMNS):]) for row in rows if row.use_id is not None]
    return rules, first.campaign_name, first.token_image_url, bool(first.held), uses


def scan_code(actor: Actor | None, text: str, *, location: str = "", confirm: bool = True,
              request_id: str | None = None) -> ScanResult:
    """Staff scanned (or typed) a holder's code. With `confirm` False only check it and show what it is for; with
    True redeem one use. Refusals are answers, not errors (each is recorded as an attempt); only a caller who is
    not signed in gets an error. `request_id`, the counter's id for one confirm, makes it safe to send again: the
    same staff member confirming the same code with the same id gets the use it took back ("redeemed"), not
    "already redeemed" (pretix's `nonce`); the repeat is not a new attempt."""
    signed_in(actor)
    return scan_as(lambda _session: actor, text, location=location, confirm=confirm,  # type: ignore[return-value]
                   request_id=request_id)


def scan_as(who: Callable[[Session], Actor | None], text: str, *, location: str = "",
            confirm: bool = True, request_id: str | None = None) -> ScanResult:
    """`scan_code` for the actor `who` finds in the scan's own transaction (the API's redeem: the bearer's actor as
    it is now, read with the scan in one transaction). The code's signature is checked before that transaction."""
    location = " ".join(location.split())[:120]
    try:
        code: codes.RewardCode | None = codes.decode(text)
    except codes.BadCode:
        code = None
    with session_scope() as session:
        actor = signed_in(who(session))
        return _scan(session, actor, code, location, confirm, request_id or None)


def _scan(session: Session, actor: Actor, code: codes.RewardCode | None, location: str,
          confirm: bool, request_id: str | None = None) -> ScanResult:
    now = utcnow()
    scanner_brand = actor.brand_ids[0] if len(actor.brand_ids) == 1 else None

    def refuse(reason: Refusal, message: str, reward: _ScannedRules | None = None,
               shown: dict[str, object] | None = None) -> ScanResult:
        shown = shown or {}
        _record_attempt(session, reward, shown.get("token_id"), actor, location,  # type: ignore[arg-type]
                        AttemptOutcome.REFUSED, reason, message, None, scanner_brand_id=scanner_brand)
        return ScanResult("refused", reason.value, message, location=location, **shown)  # type: ignore[arg-type]

    if code is None:
        return refuse(Refusal.INVALID, "This is not a valid reward code: it may have been altered or mistyped.")
    found = _read_scan(session, code, now)
    if found is None:
        return refuse(Refusal.INVALID, "This code names no reward we know.")
    reward, campaign_name, token_image_url, held, uses = found
    if not actor.can(Permission.REWARD_REDEEM, reward.brand_id):
        # Another brand's reward: say nothing about it, and keep the attempt out of that brand's statistics.
        return refuse(Refusal.FOREIGN_BRAND, "This code is for another brand's reward: it cannot be redeemed here.")
    key = period_key(reward.use_period, now)
    used = len(uses)
    shown = {
        "reward_id": reward.id, "reward_title": reward.title, "reward_description": reward.description,
        "reward_image_url": reward.image_url, "campaign_name": campaign_name, "token_id": code.token_id,
        "token_image_url": token_image_url, "holder": code.holder,
        "uses_left": max(0, reward.uses_per_period - used), "uses_per_period": reward.uses_per_period,
        "use_period": reward.use_period.value, "locations": list(reward.locations),
    }

    def refuse_shown(reason: Refusal, message: str) -> ScanResult:
        return refuse(reason, message, reward, shown)

    def same_request(previous: Any) -> bool:
        return (confirm and request_id is not None and previous.request_id == request_id
                and previous.staff_user_id == actor.user_id)

    def taken_before(previous: Any) -> ScanResult:
        return ScanResult("redeemed", message=f"Redeemed: {reward.title} for token #{code.token_id}.",
                          redemption_id=previous.id, at=previous.created_at, location=previous.location,
                          **shown)  # type: ignore[arg-type]

    previous = next((u for u in uses if u.code_nonce == code.nonce), None)
    if previous is None and (not confirm or request_id is not None):
        # Only a look: say so if the code was used in an earlier period. A confirm sent again: its use may be in
        # the period before (it is after midnight now), and its code past its grace.
        previous = _by_nonce(session, code.nonce)
    if previous is not None:
        if same_request(previous):
            return taken_before(previous)
        return refuse_shown(Refusal.ALREADY_REDEEMED, _used_message(session, reward, previous, now, this_code=True))  # type: ignore[arg-type]
    if code.expires_at + get_settings().reward_qr_grace_s < now.timestamp():
        expired = datetime.fromtimestamp(code.expires_at, UTC)
        return refuse_shown(Refusal.EXPIRED, f"This code expired {_when(expired, now)}: ask the holder to show "
                                             "a fresh one (it refreshes on their screen).")
    if reward.state is RewardState.ENDED:
        return refuse_shown(Refusal.ENDED, "This perk has ended.")
    window = reward.window_state(now)
    if window == "not_started":
        return refuse_shown(Refusal.INVALID_TIME, f"This perk starts on {reward.starts_at:%d %b %Y %H:%M} UTC.")
    if window == "over":
        return refuse_shown(Refusal.INVALID_TIME, f"This perk ended on {reward.ends_at:%d %b %Y %H:%M} UTC.")
    if reward.channel is PerkChannel.ONLINE:
        return refuse_shown(Refusal.LOCATION, "This perk is redeemed online, not at the counter.")
    if reward.locations:
        if not location:
            return refuse_shown(Refusal.LOCATION, "Choose the location you are redeeming at.")
        if location.lower() not in {name.lower() for name in reward.locations}:
            return refuse_shown(Refusal.LOCATION, f"This perk is not redeemable at {location} (only at "
                                                  f"{', '.join(reward.locations)}).")
    if not reward.qualifies(code.token_id):
        return refuse_shown(Refusal.NOT_QUALIFYING, f"Token #{code.token_id} does not carry this perk.")
    if not held:
        return refuse_shown(Refusal.NOT_HOLDER, f"Token #{code.token_id} no longer belongs to whoever showed this "
                                                "code: ask the current holder for theirs.")
    try:
        gates.check_reward_kyc(code.holder, reward, session=session)
    except KycRequired as exc:
        return refuse_shown(Refusal.KYC_REQUIRED, exc.message)
    if used >= reward.uses_per_period:
        return refuse_shown(Refusal.ALREADY_REDEEMED, _used_message(session, reward, uses[-1], now))  # type: ignore[arg-type]
    if not confirm:
        return ScanResult("valid", message="Valid: confirm to redeem one use.", location=location, **shown)  # type: ignore[arg-type]
    redemption = _take_use(session, reward, code.token_id, code.holder, now, channel=RedemptionChannel.QR,  # type: ignore[arg-type]
                           used=used, code_nonce=code.nonce, actor=actor, location=location,
                           scanner_brand_id=scanner_brand, request_id=request_id)
    if redemption is None:
        previous = _by_nonce(session, code.nonce)
        if previous is not None and same_request(previous):  # taken in an earlier period, or just now elsewhere
            return taken_before(previous)
        message = (_used_message(session, reward, previous, now, this_code=True) if previous is not None else  # type: ignore[arg-type]
                   _used_message(session, reward, _last_use(session, reward.id, code.token_id, key), now))  # type: ignore[arg-type]
        return refuse_shown(Refusal.ALREADY_REDEEMED, message)
    left = max(0, reward.uses_per_period - redemption.use_no)
    return ScanResult("redeemed", message=f"Redeemed: {reward.title} for token #{code.token_id}.",
                      redemption_id=redemption.id, at=now, location=location, **(shown | {"uses_left": left}))  # type: ignore[arg-type]

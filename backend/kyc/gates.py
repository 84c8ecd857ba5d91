"""The KYC gate: ONE function every gated action calls (purchases, rewards marked "requires KYC", custodial
withdrawals above a threshold). `require_kyc` raises KycRequired unless the person has an approval that has not
expired; `kyc_gate` answers the same question without raising (for pages that explain before the buyer acts).

An approval counts until its valid_until (KYC_VALIDITY_DAYS after the decision): once that passes, every gate
closes again without any job having to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlmodel import Session

from backend.auth.models import User
from backend.db import session_scope, utcnow
from backend.kyc.emails import DOCUMENT_ONLY_REASONS
from backend.kyc.errors import KycRequired
from backend.kyc.models import KycCase
from backend.urls import KYC_VERIFY
from backend.workflow.machines import KycState


class KycPurpose(StrEnum):
    PURCHASE = "purchase"
    REWARD = "reward"
    WITHDRAWAL = "withdrawal"


WHY = {
    KycPurpose.PURCHASE: "This collection asks buyers to verify their identity before they pay.",
    KycPurpose.REWARD: "This reward can only be redeemed after you verify your identity.",
    KycPurpose.WITHDRAWAL: "Withdrawing a collectible of this value needs a verified identity.",
}
WAITING = {
    KycState.SUBMITTED: "Your identity check is waiting for review.",
    KycState.IN_REVIEW: "Your identity check is being reviewed.",
    KycState.REJECTION_PENDING: "Your identity check is being reviewed.",
    KycState.NEEDS_MORE_INFO: "Your identity check needs changes: see what to fix on the verification page.",
    KycState.REJECTED: "Your identity check was not approved.",
}


@dataclass(frozen=True)
class KycStanding:
    """Where a person stands: `verified` means an approval valid now."""

    user_id: int | None
    status: str  # "none", a KycState value, or "expired"
    verified: bool
    valid_until: datetime | None


@dataclass(frozen=True)
class KycGate:
    required: bool
    verified: bool
    status: str
    message: str  # why the gate is closed ("" when open)
    verify_path: str  # where to verify, coming back to `next_path` afterwards


def verify_path(next_path: str = "") -> str:
    return f"{KYC_VERIFY}?{urlencode({'next': next_path})}" if next_path else KYC_VERIFY


def standing(session: Session, user_id: int | None, now: datetime | None = None) -> KycStanding:
    """The person's latest case, read in the caller's transaction."""
    if user_id is None:
        return KycStanding(None, "none", False, None)
    now = now or utcnow()
    latest = session.execute(select(KycCase.state, KycCase.valid_until).where(KycCase.user_id == user_id)
                             .order_by(KycCase.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    if latest is None:
        return KycStanding(user_id, "none", False, None)
    state, valid_until = latest
    if state is KycState.APPROVED:
        if valid_until is not None and valid_until > now:
            return KycStanding(user_id, state.value, True, valid_until)
        return KycStanding(user_id, "expired", False, valid_until)
    # A renewal waiting, withdrawn, or refused for its document alone does not take away an approval that is still
    # valid. A rejection that says the person does not check out ends every approval before it, whatever is
    # submitted or withdrawn after it.
    revoked_through = session.execute(select(func.max(KycCase.id)).where(
        KycCase.user_id == user_id, KycCase.state == KycState.REJECTED,
        KycCase.reject_reason.not_in(DOCUMENT_ONLY_REASONS))).scalar_one_or_none()  # type: ignore[attr-defined]
    approved = select(func.max(KycCase.valid_until)).where(KycCase.user_id == user_id,
                                                           KycCase.state == KycState.APPROVED)
    if revoked_through is not None:
        approved = approved.where(KycCase.id > revoked_through)  # type: ignore[operator]
    approved_until = session.execute(approved).scalar_one_or_none()
    if approved_until is not None and approved_until > now:
        return KycStanding(user_id, KycState.APPROVED.value, True, approved_until)
    return KycStanding(user_id, state.value, False, valid_until)


def kyc_status_for(user_id: int | None = None, *, email: str | None = None) -> KycStanding:
    """Where a person (by user id, or by account email) stands, in a transaction of its own."""
    with session_scope() as session:
        if user_id is None and email:
            user_id = session.execute(select(User.id).where(User.email == email.strip().lower())).scalar_one_or_none()
        return standing(session, user_id)


def is_required(purpose: KycPurpose, *, amount_minor: int | None = None, threshold_minor: int | None = None) -> bool:
    """The policy: with a threshold, only amounts above it need KYC; without one, the purpose always does (a
    campaign that asks every buyer, a reward marked "requires KYC"). Withdrawals default to their setting."""
    if purpose is KycPurpose.WITHDRAWAL and threshold_minor is None:
        from backend.settings import get_settings

        threshold_minor = get_settings().kyc_withdrawal_threshold_minor
    if threshold_minor is None:
        return True
    return amount_minor is not None and amount_minor > threshold_minor


def kyc_gate(user_id: int | None, purpose: KycPurpose | str, *, amount_minor: int | None = None,
             threshold_minor: int | None = None, next_path: str = "", session: Session | None = None) -> KycGate:
    """Is the gate open for this person and this action? Never raises for a closed gate."""
    purpose = KycPurpose(purpose)
    required = is_required(purpose, amount_minor=amount_minor, threshold_minor=threshold_minor)
    if session is None:
        with session_scope() as own:
            where = standing(own, user_id)
    else:
        where = standing(session, user_id)
    if not required or where.verified:
        return KycGate(required, where.verified, where.status, "", verify_path(next_path))
    if where.status == "expired":
        detail = "Your identity verification has expired: verify again to continue."
    else:
        detail = WAITING.get(KycState(where.status), "Verify your identity to continue.") \
            if where.status not in ("none",) else "Verify your identity to continue."
    return KycGate(True, False, where.status, f"{WHY[purpose]} {detail}", verify_path(next_path))


def require_kyc(user_id: int | None, purpose: KycPurpose | str, *, amount_minor: int | None = None,
                threshold_minor: int | None = None, next_path: str = "", session: Session | None = None) -> KycGate:
    """THE gate: returns the open gate, or raises KycRequired (403 `kyc_required`) saying why and where to verify.

    `user_id` None (nobody signed in) is never verified. Pass `session` to read in the caller's transaction (the
    checkout does, under its campaign lock)."""
    gate = kyc_gate(user_id, purpose, amount_minor=amount_minor, threshold_minor=threshold_minor,
                    next_path=next_path, session=session)
    if gate.required and not gate.verified:
        raise KycRequired(gate.message, purpose=KycPurpose(purpose).value, status_now=gate.status,
                          verify_path=gate.verify_path)
    return gate


# -- purchases ----------------------------------------------------------------------------------------------------

class CampaignKyc(StrEnum):
    """Campaign.kyc_requirement."""

    NONE = "none"
    EVERY_BUYER = "every_buyer"
    ABOVE_AMOUNT = "above_amount"  # a buyer whose total for the campaign would pass kyc_threshold_minor


def purchase_threshold(campaign: object) -> int | bool | None:
    """False: the campaign never asks; None: it asks every buyer; an int: it asks above that total per buyer."""
    mode = CampaignKyc(getattr(campaign, "kyc_requirement", CampaignKyc.NONE) or CampaignKyc.NONE)
    if mode is CampaignKyc.NONE:
        return False
    if mode is CampaignKyc.EVERY_BUYER:
        return None
    return int(getattr(campaign, "kyc_threshold_minor", 0) or 0)


def require_kyc_for_purchase(session: Session, campaign: object, buyer_user_id: int, amount_minor: int,
                             signed_in_user_id: int | None, next_path: str = "") -> None:
    """The checkout's one call, under its campaign lock: the campaign's rule, applied to what this buyer has
    ordered from it (orders holding supply) plus this order. The check is on the person signed in: typing a
    verified buyer's email does not borrow their verification."""
    from backend.orders.models import Order

    threshold = purchase_threshold(campaign)
    if threshold is False:
        return
    total = amount_minor
    if threshold is not None:
        total += int(session.execute(select(func.coalesce(func.sum(Order.amount_minor), 0)).where(
            Order.campaign_id == campaign.id, Order.user_id == buyer_user_id,
            Order.holds_supply.is_(True))).scalar_one())  # type: ignore[attr-defined]
    if not is_required(KycPurpose.PURCHASE, amount_minor=total, threshold_minor=threshold):  # type: ignore[arg-type]
        return
    if signed_in_user_id != buyer_user_id:
        raise KycRequired(f"{WHY[KycPurpose.PURCHASE]} Sign in with the account of this email address and verify "
                          "your identity first.", purpose=KycPurpose.PURCHASE.value, status_now="none",
                          verify_path=verify_path(next_path))
    require_kyc(buyer_user_id, KycPurpose.PURCHASE, amount_minor=total, threshold_minor=threshold,  # type: ignore[arg-type]
                next_path=next_path, session=session)

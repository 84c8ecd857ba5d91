"""The one place where "requires KYC" is enforced for rewards: every redemption (QR or online) and every listing of a
holder's perks asks `check_reward_kyc`, which is the KYC domain's gate (`backend.kyc.gates.require_kyc`) for the
purpose "reward". Verification belongs to an account: a holding address counts as its account's when it is that
account's custodial wallet (the orders that minted to it say whose); any other wallet, known only by a SIWE proof, is
never verified, so a perk that requires KYC asks its holder to verify with an account first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from backend.kyc.errors import KycRequired
from backend.kyc.gates import KycPurpose, require_kyc
from backend.orders.models import Order
from backend.urls import REDEEM_REWARDS

__all__ = ["KycRequired", "check_reward_kyc"]



def _account_of(session: Session, address: str) -> int | None:
    """The account whose custodial wallet `address` is, if any."""
    return session.execute(
        select(Order.user_id).where(Order.custodial.is_(True), Order.wallet_address == address).limit(1)  # type: ignore[attr-defined]
    ).scalar_one_or_none()


def check_reward_kyc(user_id_or_address: int | str, reward: Any, *, session: Session) -> None:
    """Raise KycRequired when `reward` requires KYC and the holder (a user id for an account, else the holding
    address) has no valid approval. Reads in the caller's transaction."""
    if not getattr(reward, "requires_kyc", False):
        return
    if isinstance(user_id_or_address, int):
        user_id: int | None = user_id_or_address
    else:
        user_id = _account_of(session, user_id_or_address)
    require_kyc(user_id, KycPurpose.REWARD, next_path=REDEEM_REWARDS, session=session)

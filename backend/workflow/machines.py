"""The first version of each lifecycle: order, contract deployment, reward and KYC case.

Later issues refine them; every change goes through this table so history, checks and docs stay in step.
"""

from __future__ import annotations

from enum import StrEnum

from backend.workflow.machine import Machine


class OrderState(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    MINTING = "minting"
    MINTED = "minted"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment_failed"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


O = OrderState
# Refined by issue 5 (checkout). Only REFUNDED is final: a fulfilled order can still be refunded or disputed
# (chargebacks come weeks later), and an expired one can still receive a late payment, which is refused
# and refunded (`refuse_payment`). Which orders hold reserved supply is tracked on the order, not by state.
ORDER = Machine(
    "order",
    OrderState,
    initial=O.CREATED,
    final=[O.REFUNDED],
    transitions={
        (O.CREATED, "request_payment"): O.AWAITING_PAYMENT,
        (O.CREATED, "pay"): O.PAID,  # the completion overtook the commit of the payment session
        (O.CREATED, "refuse_payment"): O.REFUND_PENDING,
        (O.CREATED, "expire"): O.EXPIRED,
        (O.AWAITING_PAYMENT, "pay"): O.PAID,
        (O.AWAITING_PAYMENT, "fail_payment"): O.PAYMENT_FAILED,
        (O.AWAITING_PAYMENT, "refuse_payment"): O.REFUND_PENDING,  # wrong amount, or already refunded
        (O.AWAITING_PAYMENT, "expire"): O.EXPIRED,
        (O.PAYMENT_FAILED, "request_payment"): O.AWAITING_PAYMENT,  # the buyer tries another card
        (O.PAYMENT_FAILED, "pay"): O.PAID,  # ... in the same payment session, and it worked
        (O.PAYMENT_FAILED, "refuse_payment"): O.REFUND_PENDING,
        (O.PAYMENT_FAILED, "expire"): O.EXPIRED,
        (O.EXPIRED, "refuse_payment"): O.REFUND_PENDING,  # paid after expiry: money is never kept
        (O.PAID, "start_mint"): O.MINTING,
        (O.PAID, "request_refund"): O.REFUND_PENDING,
        (O.PAID, "dispute"): O.DISPUTED,
        (O.MINTING, "confirm_mint"): O.MINTED,
        (O.MINTING, "request_refund"): O.REFUND_PENDING,  # the mint failed for good
        (O.MINTING, "dispute"): O.DISPUTED,
        (O.MINTED, "fulfil"): O.FULFILLED,
        (O.MINTED, "request_refund"): O.REFUND_PENDING,
        (O.MINTED, "dispute"): O.DISPUTED,
        (O.FULFILLED, "request_refund"): O.REFUND_PENDING,
        (O.FULFILLED, "dispute"): O.DISPUTED,
        (O.REFUND_PENDING, "confirm_refund"): O.REFUNDED,
        (O.REFUND_PENDING, "dispute"): O.DISPUTED,
        (O.DISPUTED, "win_dispute"): O.FULFILLED,  # the tokens were minted before or during the dispute
        (O.DISPUTED, "win_dispute_unminted"): O.PAID,  # nothing minted yet: minting resumes
        (O.DISPUTED, "win_dispute_refund"): O.REFUND_PENDING,  # a refund was asked for, or the mint failed
        (O.DISPUTED, "lose_dispute"): O.REFUNDED,
    },
)


class ContractState(StrEnum):
    DRAFT = "draft"
    DEPLOY_REQUESTED = "deploy_requested"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"


C = ContractState
CONTRACT = Machine(
    "contract",
    ContractState,
    initial=C.DRAFT,
    final=[C.DEPLOYED],
    transitions={
        (C.DRAFT, "request_deploy"): C.DEPLOY_REQUESTED,
        (C.DEPLOY_REQUESTED, "start_deploy"): C.DEPLOYING,
        (C.DEPLOY_REQUESTED, "cancel"): C.DRAFT,
        (C.DEPLOYING, "confirm_deploy"): C.DEPLOYED,
        (C.DEPLOYING, "fail_deploy"): C.FAILED,
        (C.FAILED, "retry"): C.DEPLOY_REQUESTED,
        (C.FAILED, "edit"): C.DRAFT,
    },
)


class RewardState(StrEnum):
    ALLOCATED = "allocated"  # earned by a holder (purchase, royalty share, campaign rule)
    CLAIMABLE = "claimable"  # conditions met (KYC if required); the holder may redeem
    REDEEMING = "redeeming"  # a redemption is in flight (payout or voucher issue)
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    REVOKED = "revoked"


R = RewardState
REWARD = Machine(
    "reward",
    RewardState,
    initial=R.ALLOCATED,
    final=[R.REDEEMED, R.EXPIRED, R.REVOKED],
    transitions={
        (R.ALLOCATED, "unlock"): R.CLAIMABLE,
        (R.ALLOCATED, "revoke"): R.REVOKED,
        (R.ALLOCATED, "expire"): R.EXPIRED,
        (R.CLAIMABLE, "redeem"): R.REDEEMING,
        (R.CLAIMABLE, "revoke"): R.REVOKED,
        (R.CLAIMABLE, "expire"): R.EXPIRED,
        (R.REDEEMING, "confirm_redemption"): R.REDEEMED,
        (R.REDEEMING, "fail_redemption"): R.CLAIMABLE,
    },
)


class KycState(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_MORE_INFO = "needs_more_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


K = KycState
KYC = Machine(
    "kyc_case",
    KycState,
    initial=K.SUBMITTED,
    final=[K.APPROVED, K.REJECTED, K.WITHDRAWN],
    transitions={
        (K.SUBMITTED, "start_review"): K.IN_REVIEW,
        (K.SUBMITTED, "withdraw"): K.WITHDRAWN,
        (K.IN_REVIEW, "approve"): K.APPROVED,
        (K.IN_REVIEW, "reject"): K.REJECTED,
        (K.IN_REVIEW, "request_info"): K.NEEDS_MORE_INFO,
        (K.IN_REVIEW, "release"): K.SUBMITTED,  # reviewer hands the case back to the queue
        (K.NEEDS_MORE_INFO, "resubmit"): K.SUBMITTED,
        (K.NEEDS_MORE_INFO, "withdraw"): K.WITHDRAWN,
    },
)

MACHINES: dict[str, Machine] = {m.name: m for m in (ORDER, CONTRACT, REWARD, KYC)}

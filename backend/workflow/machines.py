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


# Refined by issue 5 (checkout). Only REFUNDED is final: a fulfilled order can still be refunded or disputed
# (chargebacks come weeks later), and an expired one can still receive a late payment, which is refused
# and refunded (`refuse_payment`). Which orders hold reserved supply is tracked on the order, not by state.
ORDER = Machine(
    "order",
    OrderState,
    initial=OrderState.CREATED,
    final=[OrderState.REFUNDED],
    transitions={
        (OrderState.CREATED, "request_payment"): OrderState.AWAITING_PAYMENT,
        (OrderState.CREATED, "pay"): OrderState.PAID,  # the completion overtook the commit of the payment session
        (OrderState.CREATED, "refuse_payment"): OrderState.REFUND_PENDING,
        (OrderState.CREATED, "expire"): OrderState.EXPIRED,
        (OrderState.AWAITING_PAYMENT, "pay"): OrderState.PAID,
        (OrderState.AWAITING_PAYMENT, "fail_payment"): OrderState.PAYMENT_FAILED,
        (OrderState.AWAITING_PAYMENT, "refuse_payment"): OrderState.REFUND_PENDING,  # wrong amount, or already refunded
        (OrderState.AWAITING_PAYMENT, "expire"): OrderState.EXPIRED,
        (OrderState.PAYMENT_FAILED, "request_payment"): OrderState.AWAITING_PAYMENT,  # the buyer tries another card
        (OrderState.PAYMENT_FAILED, "pay"): OrderState.PAID,  # ... in the same payment session, and it worked
        (OrderState.PAYMENT_FAILED, "refuse_payment"): OrderState.REFUND_PENDING,
        (OrderState.PAYMENT_FAILED, "expire"): OrderState.EXPIRED,
        (OrderState.EXPIRED, "refuse_payment"): OrderState.REFUND_PENDING,  # paid after expiry: money is never kept
        (OrderState.PAID, "start_mint"): OrderState.MINTING,
        (OrderState.PAID, "request_refund"): OrderState.REFUND_PENDING,
        (OrderState.PAID, "dispute"): OrderState.DISPUTED,
        (OrderState.MINTING, "confirm_mint"): OrderState.MINTED,
        (OrderState.MINTING, "request_refund"): OrderState.REFUND_PENDING,  # the mint failed for good
        (OrderState.MINTING, "dispute"): OrderState.DISPUTED,
        (OrderState.MINTED, "fulfil"): OrderState.FULFILLED,
        (OrderState.MINTED, "request_refund"): OrderState.REFUND_PENDING,
        (OrderState.MINTED, "dispute"): OrderState.DISPUTED,
        (OrderState.FULFILLED, "request_refund"): OrderState.REFUND_PENDING,
        (OrderState.FULFILLED, "dispute"): OrderState.DISPUTED,
        (OrderState.REFUND_PENDING, "confirm_refund"): OrderState.REFUNDED,
        (OrderState.REFUND_PENDING, "dispute"): OrderState.DISPUTED,
        # the tokens were minted before or during the dispute
        (OrderState.DISPUTED, "win_dispute"): OrderState.FULFILLED,
        (OrderState.DISPUTED, "win_dispute_unminted"): OrderState.PAID,  # nothing minted yet: minting resumes
        # a refund was asked for, or the mint failed
        (OrderState.DISPUTED, "win_dispute_refund"): OrderState.REFUND_PENDING,
        (OrderState.DISPUTED, "lose_dispute"): OrderState.REFUNDED,
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
    """A reward definition (backend/rewards): redeemable/payable while ACTIVE (inside its validity window); ENDED by
    its admin for good. Payout periods have their own machine (the payout distributor's)."""

    ACTIVE = "active"
    ENDED = "ended"


R = RewardState
REWARD = Machine(
    "reward",
    RewardState,
    initial=R.ACTIVE,
    final=[R.ENDED],
    transitions={
        (R.ACTIVE, "end"): R.ENDED,
    },
)


class VaultState(StrEnum):
    """A brand's RewardVault on one chain: requested on first use, deployed by the contract deployer."""

    REQUESTED = "requested"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"


V = VaultState
REWARD_VAULT = Machine(
    "reward_vault",
    VaultState,
    initial=V.REQUESTED,
    final=[V.DEPLOYED],
    transitions={
        (V.REQUESTED, "start_deploy"): V.DEPLOYING,
        (V.DEPLOYING, "confirm_deploy"): V.DEPLOYED,
        (V.DEPLOYING, "fail_deploy"): V.FAILED,
        (V.FAILED, "retry"): V.REQUESTED,
    },
)


class PeriodState(StrEnum):
    """One period of a payout reward (backend/rewards/payouts.py): DUE once its end has passed; ALLOCATING while its
    allocation transactions are in flight (the snapshot and every holder's share are rows by then); ALLOCATED when
    every batch is confirmed; FAILED when a batch reverted or failed (retried with new transactions for those batches
    only); EMPTY when there was nothing to pay (no qualifying token held)."""

    DUE = "due"
    ALLOCATING = "allocating"
    ALLOCATED = "allocated"
    FAILED = "failed"
    EMPTY = "empty"


P = PeriodState
REWARD_PERIOD = Machine(
    "reward_period",
    PeriodState,
    initial=P.DUE,
    final=[P.ALLOCATED, P.EMPTY],
    transitions={
        (P.DUE, "allocate"): P.ALLOCATING,  # snapshot taken, shares written, batch transactions queued: one commit
        (P.DUE, "close_empty"): P.EMPTY,
        (P.ALLOCATING, "confirm"): P.ALLOCATED,  # the last batch transaction is confirmed
        (P.ALLOCATING, "fail"): P.FAILED,  # a batch reverted or failed (the others may be confirmed)
        (P.FAILED, "retry"): P.ALLOCATING,  # new transactions for the failed batches only
    },
)


class KycState(StrEnum):
    SUBMITTED = "submitted"  # in the queue, waiting for a reviewer (or the external provider)
    IN_REVIEW = "in_review"  # a reviewer holds it (the claim lapses after inactivity)
    NEEDS_MORE_INFO = "needs_more_info"  # changes requested: the consumer resubmits
    REJECTION_PENDING = "rejection_pending"  # a rejection waits for a second reviewer (four eyes)
    APPROVED = "approved"  # verified until the case's valid_until
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# Refined by issue 14 (KYC). Claims are transitions too ("start_review", "take_over" of a lapsed claim,
# "claim_for_confirmation"), so the version check makes exactly one of concurrent claims win and every claim is a
# history row. An approval's expiry is read from valid_until (no state); a provider's RED after its GREEN revokes.
K = KycState
KYC = Machine(
    "kyc_case",
    KycState,
    initial=K.SUBMITTED,
    final=[K.REJECTED, K.WITHDRAWN],
    transitions={
        (K.SUBMITTED, "start_review"): K.IN_REVIEW,
        (K.SUBMITTED, "withdraw"): K.WITHDRAWN,
        (K.SUBMITTED, "reject"): K.REJECTED,  # automatic checks (blocklist, age), or the provider without four eyes
        (K.SUBMITTED, "propose_rejection"): K.REJECTION_PENDING,  # the provider's FINAL rejection, four eyes on
        (K.SUBMITTED, "provider_approve"): K.APPROVED,
        (K.SUBMITTED, "provider_request_changes"): K.NEEDS_MORE_INFO,
        (K.IN_REVIEW, "take_over"): K.IN_REVIEW,  # another reviewer takes a lapsed claim
        (K.IN_REVIEW, "approve"): K.APPROVED,
        (K.IN_REVIEW, "reject"): K.REJECTED,  # four eyes off
        (K.IN_REVIEW, "propose_rejection"): K.REJECTION_PENDING,
        (K.IN_REVIEW, "request_info"): K.NEEDS_MORE_INFO,
        (K.IN_REVIEW, "release"): K.SUBMITTED,  # reviewer hands the case back to the queue
        (K.IN_REVIEW, "withdraw"): K.WITHDRAWN,
        (K.IN_REVIEW, "provider_approve"): K.APPROVED,
        (K.IN_REVIEW, "provider_request_changes"): K.NEEDS_MORE_INFO,
        (K.REJECTION_PENDING, "claim_for_confirmation"): K.REJECTION_PENDING,  # a second reviewer takes it
        (K.REJECTION_PENDING, "confirm_rejection"): K.REJECTED,
        (K.REJECTION_PENDING, "dismiss_rejection"): K.IN_REVIEW,  # the second reviewer disagrees
        (K.NEEDS_MORE_INFO, "resubmit"): K.SUBMITTED,
        (K.NEEDS_MORE_INFO, "withdraw"): K.WITHDRAWN,
        (K.NEEDS_MORE_INFO, "provider_approve"): K.APPROVED,  # the applicant fixed it at the provider
        (K.NEEDS_MORE_INFO, "propose_rejection"): K.REJECTION_PENDING,
        (K.NEEDS_MORE_INFO, "reject"): K.REJECTED,
        (K.APPROVED, "revoke"): K.REJECTED,  # the provider's later RED overrides its GREEN
    },
)

MACHINES: dict[str, Machine] = {m.name: m for m in (ORDER, CONTRACT, REWARD, REWARD_VAULT, REWARD_PERIOD, KYC)}

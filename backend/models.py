"""Every table, imported in one place so that SQLModel.metadata (and Alembic) sees the whole schema.

Domain model v1. Later issues add, each in its own package and migration: orders and payments
(orders/, payments/), contracts and chain transactions (chain/), secondary sales and royalties (sales/),
rewards and redemptions (rewards/), KYC cases (kyc/), and the workflow engine's history, outbox and
job tables (workflow/).
"""

from sqlmodel import SQLModel

from backend.auth.models import AuthSession, Invitation, LoginGrant, Membership, RefreshToken, User
from backend.brands.models import Brand
from backend.campaigns.models import Campaign
from backend.chain.models import (
    ChainTransaction,
    ContractDeployment,
    IndexedBlock,
    IndexerCheckpoint,
    MintedToken,
    MintRequest,
    SeaportDeployment,
    SignerNonce,
    TokenOwner,
    TokenTransfer,
    TxAttempt,
)
from backend.fx.models import FxProviderState, FxRate
from backend.kyc.models import KycAuditEntry, KycCase, KycDocument, KycProviderEvent, KycSubmission
from backend.monitoring.models import ErrorLogEntry
from backend.notifications.models import OutboundEmail
from backend.operations.models import JobLease, JobRun, SchedulerHeartbeat
from backend.orders.models import Order
from backend.payments.models import PaymentEvent, PaymentRefund, SandboxRefund, SandboxSession
from backend.reconciliation.models import ReconciliationException, ReconciliationRun, ReconciliationTotal
from backend.rewards.models import (
    Reward,
    RewardAllocation,
    RewardAttempt,
    RewardChange,
    RewardClaim,
    RewardClaimBlock,
    RewardPeriod,
    RewardRedemption,
    RewardVaultRow,
    SiweNonce,
)
from backend.sales.models import Sale, SaleReversal, SalesCursor, SaleSource
from backend.workflow.models import OutboxDelivery, OutboxEvent, ProcessedEvent, StateTransition

metadata = SQLModel.metadata

__all__ = [
    "AuthSession",
    "Brand",
    "Campaign",
    "ChainTransaction",
    "ContractDeployment",
    "ErrorLogEntry",
    "FxProviderState",
    "FxRate",
    "IndexedBlock",
    "IndexerCheckpoint",
    "Invitation",
    "JobLease",
    "JobRun",
    "KycAuditEntry",
    "KycCase",
    "KycDocument",
    "KycProviderEvent",
    "KycSubmission",
    "LoginGrant",
    "Membership",
    "MintRequest",
    "MintedToken",
    "Order",
    "OutboundEmail",
    "OutboxDelivery",
    "OutboxEvent",
    "PaymentEvent",
    "PaymentRefund",
    "ProcessedEvent",
    "ReconciliationException",
    "ReconciliationRun",
    "ReconciliationTotal",
    "RefreshToken",
    "Reward",
    "RewardAllocation",
    "RewardAttempt",
    "RewardChange",
    "RewardClaim",
    "RewardClaimBlock",
    "RewardPeriod",
    "RewardRedemption",
    "RewardVaultRow",
    "Sale",
    "SaleReversal",
    "SaleSource",
    "SalesCursor",
    "SandboxRefund",
    "SandboxSession",
    "SchedulerHeartbeat",
    "SeaportDeployment",
    "SignerNonce",
    "SiweNonce",
    "StateTransition",
    "TokenOwner",
    "TokenTransfer",
    "TxAttempt",
    "User",
    "metadata",
]

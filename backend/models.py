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
from backend.fx.models import FxProviderState, FxRate
from backend.monitoring.models import ErrorLogEntry
from backend.operations.models import JobLease, JobRun, SchedulerHeartbeat
from backend.workflow.models import OutboxDelivery, OutboxEvent, ProcessedEvent, StateTransition

metadata = SQLModel.metadata

__all__ = [
    "AuthSession",
    "Brand",
    "Campaign",
    "ErrorLogEntry",
    "FxProviderState",
    "FxRate",
    "Invitation",
    "JobLease",
    "JobRun",
    "LoginGrant",
    "Membership",
    "OutboxDelivery",
    "OutboxEvent",
    "ProcessedEvent",
    "RefreshToken",
    "SchedulerHeartbeat",
    "StateTransition",
    "User",
    "metadata",
]

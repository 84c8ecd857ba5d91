"""Daemon bookkeeping: one lease row per job, one row per run, and each runner's scheduler heartbeat."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type
from backend.workflow.models import BigId


class JobLease(SQLModel, table=True):
    """Who may run `job_name` now. A holder whose `expires_at` has passed has lost it."""

    __tablename__ = "job_lease"

    job_name: str = Field(max_length=64, primary_key=True)
    holder: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acquired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Written by the runners from the registry, so the Operations page needs no import of jobs/.
    schedule: str = Field(default="", max_length=80)
    next_run_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RunOutcome(StrEnum):
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    LEASE_LOST = "lease_lost"  # the heartbeat could not renew: the run stopped early
    ABANDONED = "abandoned"  # the holder died; found by the next holder of the lease


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job_name", "started_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    job_name: str = Field(max_length=64)
    holder: str = Field(max_length=120)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome: RunOutcome = Field(default=RunOutcome.RUNNING, sa_column=Column(enum_type(RunOutcome), nullable=False))
    items: int = 0
    error: str = Field(default="", max_length=1000)


class SchedulerHeartbeat(SQLModel, table=True):
    __tablename__ = "scheduler_heartbeat"

    runner_id: str = Field(max_length=120, primary_key=True)
    hostname: str = Field(max_length=120)
    pid: int
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    beat_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
